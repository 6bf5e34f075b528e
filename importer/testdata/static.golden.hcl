# Addresses, routes and rules configured regardless of VRRP state.
static_ipaddress = [{
  address = "192.0.2.1/24"
  brd     = "+"
  dev     = "eth0"
  scope   = "global"
  }, {
  address = "192.0.2.2/24"
  dev     = "eth0"
  label   = "eth0:st"
  no_dad  = true
  }, {
  address = "198.51.100.1"
  dev     = "eth1"
  scope   = "link"
  }, {
  address = "2001:db8:1::1/64"
  dev     = "eth1"
  }, {
  address = "203.0.113.9"
  dev     = "eth1"
}]
static_routes = [{
  dev = "eth0"
  to  = "203.0.113.0/24"
  via = "192.0.2.254"
  }, {
  dev    = "eth0"
  metric = 10
  src    = "192.0.2.1"
  table  = 100
  to     = "198.51.100.0/25"
  via    = "192.0.2.253"
  }, {
  protocol = 4
  table    = 254
  to       = "default"
  via      = "192.0.2.254"
  }, {
  to   = "203.0.113.128/25"
  type = "blackhole"
  }, {
  dev      = "eth1"
  protocol = 12
  to       = "2001:db8:100::/48"
  via      = "2001:db8:1::fe"
  }, {
  dev   = "eth1"
  scope = "link"
  to    = "198.51.100.128/25"
}]
static_rules = [{
  from     = "192.0.2.0/24"
  priority = 1000
  table    = 100
  }, {
  priority = 1001
  table    = 100
  to       = "198.51.100.0/24"
  }, {
  from  = "192.0.2.128/25"
  iif   = "eth0"
  table = 101
  }, {
  fwmark = 7
  table  = 102
  }, {
  from     = "203.0.113.0/24"
  not      = true
  priority = 1003
  table    = 254
  }, {
  family = "inet6"
  from   = "all"
  table  = 103
  }, {
  from  = "192.0.2.0/24"
  table = 104
}]
