# Every kind of mistake at once: hacfg reports them all.
global_defs {
  router_id = "lb1"
  smtp_conect_timeout = "30s"
}

vrrp_instance "VI_1" {
  state             = "MASTR"
  interface         = "eth0"
  virtual_router_id = 300
  priority          = 255
  advert_int        = "500ms"
  virtual_ipaddress = ["192.0.2.10/24", "2001:db8::10/64"]
  track_script      = ["chk_haproxy"]
  authentication {
    auth_type = "PASS"
    autp_pass = "1111"
  }
}

virtual_server "web" {
  address = "192.0.2.10:80"
  lb_algo = "roundrobin"
  real_server "203.0.113.5:80" {
    weight = "heavy"
  }
  real_server "203.0.113.5:80" {}
}
