# Every global_defs setting hacfg carries, and a few it does not.
global_defs {
  router_id                       = "LB_A"
  script_user                     = "nobody:nogroup"
  enable_script_security          = true
  notification_email              = ["ops@example.com", "oncall@example.com"]
  notification_email_from         = "lb-a@example.com"
  smtp_server                     = "192.0.2.25:2525"
  smtp_helo_name                  = "lb-a.example.com"
  smtp_connect_timeout            = "30s"
  vrrp_version                    = 2
  vrrp_garp_master_delay          = "3s"
  vrrp_garp_master_repeat         = 2
  vrrp_garp_master_refresh        = "1m"
  vrrp_garp_master_refresh_repeat = 1
  vrrp_garp_interval              = "1ms"
  vrrp_gna_interval               = "500µs"
  vrrp_mcast_group4               = "224.0.0.18"
  vrrp_mcast_group6               = "ff02::12"
  vrrp_skip_check_adv_addr        = true
  lvs_flush                       = true
}

vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = ["192.0.2.10/24"]
}
