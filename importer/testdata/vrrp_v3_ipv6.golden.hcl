global_defs {
  vrrp_version = 3
}

vrrp_instance "VI_V6" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = 70
  priority          = 120
  advert_int        = "100ms"
  virtual_ipaddress = ["2001:db8:53::53/64", {
    address = "fe80::53/64"
    dev     = "eth0"
  }]
  virtual_routes = [{
    dev = "eth0"
    to  = "2001:db8:100::/48"
    via = "2001:db8:53::1"
  }]
}

vrrp_instance "VI_V4" {
  interface         = "eth0"
  virtual_router_id = 71
  advert_int        = "500ms"
  version           = 3
  virtual_ipaddress = ["192.0.2.53/24"]
  mcast_src_ip      = "192.0.2.5"
}
