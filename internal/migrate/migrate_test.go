package migrate_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hookd/hookd/internal/migrate"
)

func TestMigrateLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0010_ten.sql":  {Data: []byte("ten")},
		"migrations/9_nine.sql":    {Data: []byte("nine")},
		"migrations/0001_one.sql":  {Data: []byte("one")},
		"elsewhere/0002_other.sql": {Data: []byte("not read")},
	}
	all, err := migrate.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []migrate.Migration{{1, "0001_one", "one"}, {9, "9_nine", "nine"}, {10, "0010_ten", "ten"}}
	if len(all) != len(want) {
		t.Fatalf("Load = %+v, want %+v", all, want)
	}
	for i := range want {
		if all[i] != want[i] {
			t.Errorf("Load()[%d] = %+v, want %+v", i, all[i], want[i])
		}
	}
}

func TestMigrateLoadNamesTheBadFile(t *testing.T) {
	for name, want := range map[string]string{
		"init.sql":   `"init"`,
		"0002-b.sql": `"0002-b"`,
		"0002_.sql":  `"0002_"`,
		"0000_z.sql": `"0000_z"`,
		"+2_b.sql":   `"+2_b"`,
		"0002_b.txt": "0002_b.txt",
		"1_same.sql": "0001_a and 1_same share version 1",
	} {
		fsys := fstest.MapFS{
			"migrations/0001_a.sql": {Data: []byte("SELECT 1;")},
			"migrations/" + name:    {Data: []byte("SELECT 1;")},
		}
		_, err := migrate.Load(fsys)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load with %s = %v, want an error with %s", name, err, want)
		}
	}
}
