# A router pair with an outside and an inside address that must move
# together, scripts run on every transition, and a health script that lowers
# the priority when the upstream link is bad.

global_defs {
  script_user = "hacfg"
}

node "gw1" {}
node "gw2" {}

vrrp_script "upstream" {
  script   = "/usr/local/bin/check-upstream 198.51.100.1"
  interval = "2s"
  timeout  = "1s"
  weight   = -30
  rise     = 2
  fall     = 3
}

vrrp_sync_group "GW" {
  group = ["OUTSIDE", "INSIDE"]
  # Apply the members' tracking weights (without this, as in keepalived,
  # any tracked failure faults the whole group).
  sync_group_tracking_weight = true
  notify_master              = "/usr/local/bin/gw-notify master"
  notify_backup              = "/usr/local/bin/gw-notify backup"
  notify_fault               = "/usr/local/bin/gw-notify fault"
  notify                     = "/usr/local/bin/gw-notify-all"
}

vrrp_instance "OUTSIDE" {
  interface         = "eth0"
  virtual_router_id = 10
  virtual_ipaddress = ["198.51.100.2/24"]
  track_script      = ["upstream"]
  track_interface   = ["eth1", { name = "eth2", weight = -20 }]
  garp_master_delay = "2s"

  node "gw1" {
    state    = "MASTER"
    priority = 110
  }
  node "gw2" {
    priority = 100
  }
}

vrrp_instance "INSIDE" {
  interface         = "eth1"
  virtual_router_id = 11
  virtual_ipaddress = ["192.0.2.1/24"]
  virtual_routes = [
    { to = "203.0.113.0/24", via = "192.0.2.254", dev = "eth1", table = 100 },
  ]
  virtual_rules = [
    { from = "192.0.2.0/24", table = 100, priority = 1000 },
  ]

  node "gw1" {
    state    = "MASTER"
    priority = 110
  }
  node "gw2" {
    priority = 100
  }
}
