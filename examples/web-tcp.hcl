# A two-node web VIP: lb1 is the preferred master, lb2 takes over when lb1
# fails. Traffic to 192.0.2.10:80 is balanced over three web servers that
# are checked with a TCP connect every 5 seconds.

global_defs {
  vrrp_version = 2
}

node "lb1" {
  router_id = "lb1"
}

node "lb2" {
  router_id = "lb2"
}

vrrp_instance "VI_WEB" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  advert_int        = "1s"
  virtual_ipaddress = ["192.0.2.10/24"]

  authentication {
    auth_type = "PASS"
    auth_pass = "s3cret"
  }

  node "lb1" {
    state    = "MASTER"
    priority = 150
  }

  node "lb2" {
    state    = "BACKUP"
    priority = 100
  }
}

virtual_server "web" {
  address    = "192.0.2.10:80"
  protocol   = "TCP"
  lb_algo    = "wrr"
  lb_kind    = "NAT"
  delay_loop = "5s"

  real_server "203.0.113.11:80" {
    weight = 3
    tcp_check {
      connect_timeout = "2s"
      retry           = 3
    }
  }

  real_server "203.0.113.12:80" {
    weight = 3
    tcp_check {
      connect_timeout = "2s"
      retry           = 3
    }
  }

  real_server "203.0.113.13:80" {
    weight = 1
    tcp_check {
      connect_timeout = "2s"
      retry           = 3
    }
  }
}
