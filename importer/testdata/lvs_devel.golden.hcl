# Configuration File for keepalived
global_defs {
  # notification_email {
  # acassen@firewall.loc
  # failover@firewall.loc
  # sysadmin@firewall.loc
  # }
  # notification_email_from Alexandre.Cassen@firewall.loc
  # smtp_server 192.168.200.1
  # smtp_connect_timeout 30
  router_id = "LVS_DEVEL"
}

vrrp_sync_group "VGM" {
  group = ["VI_1"]
}

vrrp_instance "VI_1" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  advert_int        = "5s"
  virtual_ipaddress = ["192.168.1.8"]

  authentication {
    auth_type = "PASS"
    auth_pass = "1111"
  }
}

virtual_server "192.168.1.8_80" {
  address             = "192.168.1.8:80"
  protocol            = "TCP"
  delay_loop          = "6s"
  lb_algo             = "rr"
  lb_kind             = "DR"
  persistence_timeout = "50s"
  sorry_server        = "127.0.0.1:80"

  real_server "192.168.1.16:80" {
    weight = 1

    tcp_check {
      connect_port       = 80
      connect_timeout    = "5s"
      delay_before_retry = "3s"
    }
  }
  real_server "192.168.1.17:80" {
    weight = 1

    tcp_check {
      connect_port       = 80
      connect_timeout    = "5s"
      delay_before_retry = "3s"
    }
  }
}
