# lb1: the preferred master
global_defs {
  script_user = "nobody"
}

node "lb1" {
  router_id = "lb1"
}

node "lb2" {
  router_id = "lb2"
}

vrrp_script "chk_nginx" {
  script   = "/usr/bin/pgrep nginx"
  interval = "2s"
  weight   = -20
}

vrrp_instance "VI_WEB" {
  interface         = "eth0"
  virtual_router_id = 51
  advert_int        = "1s"
  virtual_ipaddress = ["192.0.2.10/24"]

  authentication {
    auth_type = "PASS"
    auth_pass = "s3cret"
  }

  track_script = ["chk_nginx"]

  node "lb1" {
    state          = "MASTER"
    priority       = 150
    unicast_src_ip = "192.0.2.11"
    unicast_peer   = ["192.0.2.12"]
  }
  node "lb2" {
    state          = "BACKUP"
    priority       = 100
    unicast_src_ip = "192.0.2.12"
    unicast_peer   = ["192.0.2.11"]
  }
}

vrrp_instance "VI_DB" {
  virtual_router_id = 52
  priority          = 100
  virtual_ipaddress = ["198.51.100.10/24"]

  node "lb1" {
    interface = "eth1"
  }
  node "lb2" {
    state     = "MASTER"
    interface = "eth2"
  }
}

virtual_server "192.0.2.10_80" {
  address    = "192.0.2.10:80"
  protocol   = "TCP"
  delay_loop = "5s"
  lb_algo    = "wrr"
  lb_kind    = "NAT"

  real_server "203.0.113.11:80" {
    weight = 3

    tcp_check {
      connect_timeout = "2s"
    }
  }
}
