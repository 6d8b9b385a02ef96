"""The Cluster Watch (JS7's ClusterWatch, reference §2.6): the arbiter of a Controller cluster.

The two nodes of a cluster (Primary and Backup) push to it: the active node reports its cluster state
every heartbeat and after each cluster event, and a node that lost its peer asks for consent before it
declares the peer lost (a failover by the passive, a PassiveLost by the active). The Watch grants a node
loss to one side only, so that never both nodes are active. Its knowledge lives in memory: after a
restart it is untaught and refuses every node loss until the active node has reported, or a person
confirmed the loss (``js7es ctl confirm-node-loss``).

- `cluster_state`: the reported cluster state (JSON, parsed strictly);
- `logic`: the decisions, pure, with the clock passed in;
- `watch`: the per-cluster memory, logging every grant and refusal;
- `api`: the HTTP routes under ``/cluster-watch/api``; `server`, `config`, `command`: the process;
- `client`: ``js7es ctl confirm-node-loss``.
"""
