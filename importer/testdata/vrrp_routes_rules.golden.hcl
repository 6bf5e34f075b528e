vrrp_instance "VI_GW" {
  interface         = "eth1"
  virtual_router_id = 11
  virtual_ipaddress = [{
    address = "192.0.2.1/24"
    dev     = "eth1"
    label   = "eth1:gw"
    }, {
    address = "192.0.2.2/24"
    brd     = "192.0.2.255"
    dev     = "eth1"
    scope   = "global"
  }]
  virtual_ipaddress_excluded = [{
    address = "198.51.100.10/24"
    dev     = "eth0"
    }, {
    address = "198.51.100.11/24"
    dev     = "eth0"
  }]
  virtual_routes = [{
    dev   = "eth1"
    src   = "192.0.2.1"
    table = 100
    to    = "203.0.113.0/24"
    via   = "192.0.2.254"
    }, {
    dev    = "eth1"
    metric = 5
    to     = "198.51.100.0/24"
    via    = "192.0.2.253"
    }, {
    to   = "203.0.113.64/26"
    type = "unreachable"
    }, {
    dev = "eth1"
    to  = "192.0.2.128/25"
    via = "192.0.2.252"
  }]
  virtual_rules = [{
    from     = "192.0.2.0/24"
    priority = 1000
    table    = 100
    }, {
    priority = 1001
    table    = 100
    to       = "203.0.113.0/24"
    }, {
    iif      = "eth1"
    oif      = "eth0"
    priority = 1002
    table    = 100
  }]
}
