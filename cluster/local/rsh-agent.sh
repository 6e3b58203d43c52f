#!/bin/sh
# Open MPI's remote-shell agent for the simulated cluster (cluster.sh): `rsh-agent.sh HOST cmd...`
# runs cmd in HOST's network namespace with HOST as its host name, as `ssh HOST cmd...` would on
# a real cluster (the words are joined and run by sh -c, as ssh's remote shell runs them).
set -eu
[ $# -ge 2 ] || { echo "rsh-agent.sh: expected HOST COMMAND..., found $# argument(s)" >&2; exit 2; }
host=$1
shift
case $host in
  *[!a-z0-9-]* | "") echo "rsh-agent.sh: host '$host': expected a simulated host name such as c1-n1" >&2; exit 2 ;;
esac
exec ip netns exec "$host" unshare --uts -- sh -c "hostname $host && $*"
