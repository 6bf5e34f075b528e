# Configuration File for keepalived: the smallest useful instance.
global_defs {
  router_id = "LVS_DEVEL"
}

vrrp_instance "VI_1" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  advert_int        = "1s"
  virtual_ipaddress = ["192.0.2.16", "192.0.2.17", "192.0.2.18"]

  authentication {
    auth_type = "PASS"
    auth_pass = "1111"
  }
}
