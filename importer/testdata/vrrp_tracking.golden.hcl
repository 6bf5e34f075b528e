vrrp_script "chk_haproxy" {
  script    = "/usr/bin/killall -0 haproxy"
  interval  = "2s"
  timeout   = "1s"
  weight    = -20
  rise      = 2
  fall      = 3
  user      = "nobody:nogroup"
  init_fail = true
}

vrrp_script "chk_reverse" {
  script = "/usr/local/bin/chk"
}

vrrp_track_file "maint" {
  file      = "/run/lb/maint"
  weight    = -50
  init_file = true
}

vrrp_track_file "legacy" {
  file      = "/run/lb/legacy"
  init_file = true
}

vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24"]
  track_interface = ["eth0", {
    name   = "eth1"
    weight = -30
  }]
  track_script = ["chk_haproxy", {
    name   = "chk_reverse"
    weight = 5
  }]
  track_file = [{
    name   = "maint"
    weight = -10
  }, "legacy"]
}
