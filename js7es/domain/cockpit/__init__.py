"""The JOC Cockpit's pure rooms: identity and access management, permissions, folders."""
