"""The Controller cluster (ARCHITECTURE §5, issue 4): two Controller nodes, the active one and its standby.

- `node.ClusterNode` decides the role of this node at start and after each change (active or passive),
  fences an old journal, and runs the role; the web service stays up all the time.
- `active.ActiveRole`: the Controller proper, whose commits wait for the standby's acknowledgement
  while the cluster is Coupled; it couples with the standby, declares it lost (with the Cluster Watch's
  consent), switches over by command, and reports to the Cluster Watch.
- `passive.PassiveRole`: the standby, replicating the active's journal commit by commit, acknowledging
  what it made durable, and failing over (with the Cluster Watch's consent) when the active falls silent.
- `clients`: HTTP clients for the peer node and the Cluster Watch; `routes`: the cluster's web service.
"""
