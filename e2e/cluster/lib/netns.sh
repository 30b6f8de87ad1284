# The stack's network namespace (sourced). Every process of the stack, and every test that talks
# to it, runs in a namespace of its own ($CLUSTER_NETNS) whose only interface is loopback:
# Flagger v1.44 and its load tester bind their HTTP port on all interfaces (`":" + port`, no
# listen-address flag), and in there "all interfaces" is 127.0.0.0/8. Nothing of the stack is
# reachable from the machine's routed interface.
CLUSTER_NETNS="${CLUSTER_NETNS:-cdk8s-canary-e2e}"

in_stack_netns() { [[ "$(ip netns identify $$ 2>/dev/null)" == "$CLUSTER_NETNS" ]]; }

# enter_stack_netns <command...>: returns at once when already inside; otherwise creates the
# namespace (loopback up) if needed and replaces this process with the command run inside it.
enter_stack_netns() {
  in_stack_netns && return 0
  if ! ip netns list | awk '{ print $1 }' | grep -qx "$CLUSTER_NETNS"; then
    ip netns add "$CLUSTER_NETNS"
  fi
  ip -n "$CLUSTER_NETNS" link set lo up
  # Ephemeral ports above the stacks' fixed port blocks (CLUSTER_PORT_BASE, 36400 by default):
  # a client socket holding, say, 127.0.0.1:36702 would make a second stack's bind fail.
  ip netns exec "$CLUSTER_NETNS" sysctl -qw net.ipv4.ip_local_port_range="40000 60999"
  exec ip netns exec "$CLUSTER_NETNS" "$@"
}
