"""Running a cluster from this machine: starting node daemons, and connecting drivers to one."""
