"""js7es: workload automation in the shape of JS7 JobScheduler, built on event sourcing."""
