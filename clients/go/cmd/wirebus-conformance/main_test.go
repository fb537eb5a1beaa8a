package main

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"

	wirebus "github.com/wirebus/wirebus-go"
	"github.com/wirebus/wirebus-go/internal/brokertest"
)

func run(t *testing.T, d *driver, line string) map[string]interface{} {
	t.Helper()
	reply := d.handle(line)
	b, err := json.Marshal(reply)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	json.Unmarshal(b, &m)
	return m
}

func TestDriverScenarioAcrossCut(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	p := brokertest.NewProxy(t, b.HostPort())
	d := &driver{subs: map[string]*wirebus.Subscription{}, log: log.New(os.Stderr, "", 0)}
	defer d.handle(`{"cmd":"close"}`)
	if r := run(t, d, fmt.Sprintf(`{"cmd":"connect","addresses":["tcp://127.0.0.1:1","%s"],"name":"drv"}`, p.Addr())); r["ok"] != true {
		t.Fatalf("connect: %v", r)
	}
	var payloads []string
	for i := 0; i < 100; i++ {
		payloads = append(payloads, fmt.Sprintf(`"%02x"`, i))
	}
	r := run(t, d, `{"cmd":"publishBatch","stream":"drv","payloads":[`+strings.Join(payloads, ",")+`],"expectedSequence":1}`)
	if r["ok"] != true || r["firstSequence"] != 1.0 || r["count"] != 100.0 || r["duplicate"] != false {
		t.Fatalf("publishBatch: %v", r)
	}
	if r := run(t, d, `{"cmd":"subscribe","sub":"a","stream":"drv","start":{"sequence":1},"credits":8}`); r["ok"] != true || r["startSequence"] != 1.0 {
		t.Fatalf("subscribe: %v", r)
	}
	next := 1
	check := func(r map[string]interface{}) {
		for _, m := range r["messages"].([]interface{}) {
			mm := m.(map[string]interface{})
			if mm["sequence"] != float64(next) || mm["payload"] != fmt.Sprintf("%02x", next-1) {
				t.Fatalf("got %v, want sequence %d", mm, next)
			}
			next++
		}
	}
	r = run(t, d, `{"cmd":"take","sub":"a","count":30,"timeoutMs":10000}`)
	if r["ok"] != true {
		t.Fatalf("take: %v", r)
	}
	check(r)
	p.Cut()
	r = run(t, d, `{"cmd":"take","sub":"a","count":70,"timeoutMs":10000}`)
	if r["ok"] != true {
		t.Fatalf("take after cut: %v", r)
	}
	check(r)
	r = run(t, d, `{"cmd":"take","sub":"a","count":1,"timeoutMs":100}`)
	if e := r["error"].(map[string]interface{}); r["ok"] != false || e["name"] != "CLIENT_TIMEOUT" || e["code"] != -1.0 || len(r["messages"].([]interface{})) != 0 {
		t.Fatalf("take beyond the end: %v", r)
	}
	r = run(t, d, `{"cmd":"publish","stream":"drv","payload":"ff","expectedSequence":7}`)
	if e := r["error"].(map[string]interface{}); r["ok"] != false || e["name"] != "SEQUENCE_MISMATCH" || e["code"] != 10.0 {
		t.Fatalf("mismatch: %v", r)
	}
	if r := run(t, d, `{"cmd":"nope"}`); r["ok"] != false || r["error"].(map[string]interface{})["message"] != "unknown command nope" {
		t.Fatalf("unknown: %v", r)
	}
}
