# Spellings keepalived 2.2.7 still accepts.
global_defs {
}

vrrp_track_file "f1" {
  file = "/run/f1"
}

vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24"]
  mcast_src_ip      = "192.0.2.2"
  track_file        = ["f1"]
}

virtual_server "192.0.2.10_80" {
  address  = "192.0.2.10:80"
  protocol = "TCP"
  lb_algo  = "sh"
  lb_kind  = "TUN"

  real_server "203.0.113.5:80" {
    http_get {
      retry = 4

      url {
        path = "/"
      }
    }
  }
}
