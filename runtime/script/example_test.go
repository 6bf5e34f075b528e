package script_test

import (
	"context"
	"fmt"

	"github.com/hacfg/hacfg/runtime/script"
)

func ExampleParse() {
	for _, text := range []string{
		`/usr/local/bin/check_haproxy --port 80 'a b'`,
		`pidof haproxy || exit 1`,
	} {
		c, err := script.Parse(text)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%q shell=%v\n", c.Args, c.Shell)
	}
	// Output:
	// ["/usr/local/bin/check_haproxy" "--port" "80" "a b"] shell=false
	// ["pidof" "haproxy" "||" "exit" "1"] shell=true
}

func ExampleNotifier() {
	nf := script.NewNotifier(&script.Exec{}, nil, script.NotifierOptions{})
	s := script.Scripts{Notify: script.MustParse("echo")}
	// Runs: echo INSTANCE VI_1 MASTER 150, without waiting.
	nf.Notify(s, script.Notification{Type: script.TypeInstance, Name: "VI_1", State: script.StateMaster, Priority: 150})
	_ = nf.Close(context.Background()) // waits for queued scripts
	fmt.Println(nf.Stats().Run)
	// Output: 1
}
