package modelreg_test

import (
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
)

func TestCheckFilePath(t *testing.T) {
	ok := []string{
		"a", "model/config.json", "dir/sub/file.bin", "名字/模型.bin", "emoji-🙂.txt", "arabic-عربي/x",
		strings.Repeat("a", modelreg.MaxFilePathLen),
	}
	for _, p := range ok {
		if err := modelreg.CheckFilePath(p); err != nil {
			t.Errorf("CheckFilePath(%q) = %v, want nil", p, err)
		}
	}
	bad := map[string]string{
		"":                                "empty",
		strings.Repeat("a", 1025):         "longer than 1024 bytes",
		"/abs":                            "absolute",
		"a//b":                            "empty element",
		"a/../b":                          `".."`,
		"./a":                             `"."`,
		"a\x00b":                          "control",
		"a\nb":                            "control",
		"a\x7fb":                          "control",
		"a\u0085b":                        "control",
		"\xff":                            "UTF-8",
		"evil\u202egnp.exe":               "bidirectional override",
		"a\u202ab":                        "formatting",
		"a\u202bb":                        "formatting",
		"a\u202cb":                        "formatting",
		"a\u202db":                        "formatting",
		"a\u2066b":                        "formatting",
		"a\u2067b":                        "formatting",
		"a\u2068b":                        "formatting",
		"dir\u2069/x":                     "formatting",
		"a\u200eb":                        "formatting",
		"a\u200fb":                        "formatting",
		"a\u061cb":                        "formatting",
		"a\u200bb":                        "formatting",
		"\ufeffa":                         "formatting",
		"a\u2028b":                        "formatting",
		"a\u2029b":                        "formatting",
		"tag\U000E0041":                   "formatting",
		"x/" + "\u202e" + "/y":            "formatting",
		strings.Repeat("é", 513):          "longer than 1024 bytes", // 1026 bytes
		"ok/" + strings.Repeat("b", 1022): "longer than 1024 bytes",
	}
	for p, want := range bad {
		err := modelreg.CheckFilePath(p)
		if modelreg.ErrorCode(err) != modelreg.EINVALID || modelreg.ErrorAPICode(err) != modelreg.CodeInvalidArgument {
			t.Errorf("CheckFilePath(%q) = %v, want EINVALID ModelArts.0101", p, err)
			continue
		}
		if !strings.Contains(modelreg.ErrorMessage(err), want) {
			t.Errorf("CheckFilePath(%q) = %q, want it to mention %q", p, modelreg.ErrorMessage(err), want)
		}
	}
}
