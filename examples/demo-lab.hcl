# The live lab of `make demo`: two load balancers share 192.0.2.100 with
# VRRPv3 and 100 ms adverts, so a backup takes over in about 350 ms.

node "lb1" {
  router_id = "lb1"
}

node "lb2" {
  router_id = "lb2"
}

vrrp_instance "VI_DEMO" {
  interface         = "eth0"
  virtual_router_id = 100
  version           = 3
  advert_int        = "100ms"
  virtual_ipaddress = ["192.0.2.100/24"]
  virtual_routes = [
    { to = "198.51.100.0/24", via = "192.0.2.254", dev = "eth0" },
  ]

  node "lb1" {
    state    = "MASTER"
    priority = 150
  }

  node "lb2" {
    priority = 100
  }
}
