vrrp_script "upstream" {
  script   = "/usr/local/bin/check-upstream 198.51.100.1"
  interval = "2s"
  weight   = -30
}

vrrp_sync_group "GW" {
  group = ["OUTSIDE", "INSIDE"]
  track_interface = [{
    name   = "eth2"
    weight = -20
  }]
  track_script  = ["upstream"]
  notify_master = "/usr/local/bin/gw-notify master"
  notify_backup = "/usr/local/bin/gw-notify backup"
  notify_fault  = "/usr/local/bin/gw-notify fault"
  notify_stop   = "/usr/local/bin/gw-stop"
  notify        = "/usr/local/bin/gw-notify-all"
  smtp_alert    = true
}

vrrp_instance "OUTSIDE" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = 10
  priority          = 110
  virtual_ipaddress = ["198.51.100.2/24"]
}

vrrp_instance "INSIDE" {
  state             = "MASTER"
  interface         = "eth1"
  virtual_router_id = 11
  priority          = 110
  virtual_ipaddress = ["192.0.2.1/24"]
}
