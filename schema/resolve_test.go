package schema

import "testing"

func TestResolveSharesEqualChecks(t *testing.T) {
	src := `
virtual_server "a" {
  address = "192.0.2.10:80"
  real_server "203.0.113.1:80" {
    tcp_check {
      connect_timeout = "2s"
      retry           = 3
    }
  }
  real_server "203.0.113.2:80" {
    tcp_check {
      connect_timeout = "2s"
      retry           = 3
    }
  }
  real_server "203.0.113.3:80" {
    weight = 5
    tcp_check {
      connect_timeout = "2s"
      retry           = 2
    }
  }
  real_server "203.0.113.4:80" {
    http_get {
      url {
        path = "/a"
      }
    }
  }
  real_server "203.0.113.5:80" {
    http_get {
      url {
        path = "/b"
      }
    }
  }
}
virtual_server "b" {
  address = "192.0.2.11:80"
  real_server "203.0.113.6:80" {
    tcp_check {
      connect_timeout = "2s"
      retry           = 3
    }
  }
  real_server "203.0.113.7:80" {
    http_get {
      url {
        path = "/a"
      }
    }
  }
  real_server "203.0.113.8:80" {
    tcp_check {
      connect_timeout = "2s"
      retry           = 3
    }
    http_get {
      url {
        path = "/a"
      }
    }
  }
}
`
	raw, diags := Parse(Sources{"c.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(RenderString(Sources{"c.hcl": []byte(src)}, diags))
	}
	cfg, err := Resolve(raw, "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.VirtualServers[0].RealServers, cfg.VirtualServers[1].RealServers
	same := func(name string, x, y any, want bool) {
		t.Helper()
		if (x == y) != want {
			t.Errorf("%s: shared %v, want %v", name, x == y, want)
		}
	}
	same("equal TCP checks", a[0].Checks.TCPChecks[0], a[1].Checks.TCPChecks[0], true)
	same("equal TCP checks of another virtual server", a[0].Checks.TCPChecks[0], b[0].Checks.TCPChecks[0], true)
	same("TCP checks with another retry", a[0].Checks.TCPChecks[0], a[2].Checks.TCPChecks[0], false)
	same("HTTP_GETs of different paths", a[3].Checks.HTTPGets[0], a[4].Checks.HTTPGets[0], false)
	same("equal HTTP_GETs", a[3].Checks.HTTPGets[0], b[1].Checks.HTTPGets[0], true)
	same("equal sets of checks", a[0].Checks, a[1].Checks, true)
	same("equal sets of checks of another virtual server", a[0].Checks, b[0].Checks, true)
	same("sets with another retry", a[0].Checks, a[2].Checks, false)
	// A set of two checks shares each list with the sets of one check.
	same("a set of two and a set of one", a[0].Checks, b[2].Checks, false)
	same("TCP checks of a set of two", a[0].Checks.TCPChecks[0], b[2].Checks.TCPChecks[0], true)
	same("HTTP_GETs of a set of two", a[3].Checks.HTTPGets[0], b[2].Checks.HTTPGets[0], true)
	if got := *a[2].Checks.TCPChecks[0].Retry; got != 2 {
		t.Errorf("the third real server's retry is %d, want 2", got)
	}
	if p := a[4].Checks.HTTPGets[0].URLs[0].Path; p != "/b" {
		t.Errorf("the fifth real server's path is %q, want /b", p)
	}
	// Default weights: one value for the real servers without one.
	same("default weights", a[0].Weight, a[1].Weight, true)
	if *a[0].Weight != DefaultWeight || *a[2].Weight != 5 {
		t.Errorf("weights %d and %d, want %d and 5", *a[0].Weight, *a[2].Weight, DefaultWeight)
	}
	// The raw config is not changed: its real servers keep their own.
	rawA := raw.VirtualServers[0].RealServers
	same("raw checks", rawA[0].Checks.TCPChecks[0], rawA[1].Checks.TCPChecks[0], false)
	same("raw sets of checks", rawA[0].Checks, rawA[1].Checks, false)
	if rawA[0].Weight != nil {
		t.Errorf("the raw config got a weight: %d", *rawA[0].Weight)
	}
}
