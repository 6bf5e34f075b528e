// Command probe runs inside the vmtest VM and reports what it sees: its
// arguments, chosen environment variables, the content of the files named
// by $PROBE_FILES, its uid and working directory, whether lo is up, and the
// loaded ip_vs module, whether modprobe works, and whether
// /var/run/netns (where named network namespaces go) exists. It exits with the status in $PROBE_EXIT.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

func main() {
	for i, a := range os.Args[1:] {
		fmt.Printf("arg[%d]=%q\n", i, a)
	}
	fmt.Printf("env PROBE_QUOTED=%q\n", os.Getenv("PROBE_QUOTED"))
	for _, f := range strings.Fields(os.Getenv("PROBE_FILES")) {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Printf("file %s: %v\n", f, err)
			continue
		}
		fmt.Printf("file %s=%q\n", f, data)
	}
	wd, _ := os.Getwd()
	fmt.Printf("uid=%d wd=%s\n", os.Getuid(), wd)
	flags, err := os.ReadFile("/sys/class/net/lo/flags")
	fmt.Printf("lo flags=%s err=%v\n", strings.TrimSpace(string(flags)), err)
	mods, _ := os.ReadFile("/proc/modules")
	for _, l := range strings.Split(string(mods), "\n") {
		if strings.HasPrefix(l, "ip_vs ") {
			fmt.Println("module ip_vs loaded")
		}
	}
	st, err := os.Stat("/var/run/netns")
	fmt.Printf("netns dir: %v err=%v\n", st != nil && st.IsDir(), err)
	out, err := exec.Command("modprobe", "ip_vs").CombinedOutput()
	fmt.Printf("modprobe ip_vs: %q err=%v\n", out, err)
	code, _ := strconv.Atoi(os.Getenv("PROBE_EXIT"))
	os.Exit(code)
}
