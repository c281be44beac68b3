package modelreg_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/modelreg/modelreg"
)

const modelA, modelB = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"

func validService() *modelreg.ServiceCreate {
	return &modelreg.ServiceCreate{Name: "svc", InferType: "real-time", Config: []modelreg.ServiceConfig{
		{ModelID: modelA, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1},
	}}
}

func TestServiceCreateValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *modelreg.ServiceCreate)
		code   string
	}{
		{"OK", func(s *modelreg.ServiceCreate) {}, ""},
		{"OK/TwoModels", func(s *modelreg.ServiceCreate) {
			s.Config[0].Weight = 40
			s.Config = append(s.Config, modelreg.ServiceConfig{ModelID: modelB, Weight: 60, Specification: "x", InstanceCount: 2})
		}, ""},
		{"NameMissing", func(s *modelreg.ServiceCreate) { s.Name = "" }, modelreg.CodeParamRequired},
		{"NameChars", func(s *modelreg.ServiceCreate) { s.Name = "a.b" }, modelreg.CodeParamInvalid},
		{"InferType", func(s *modelreg.ServiceCreate) { s.InferType = "edge" }, modelreg.CodeParamInvalid},
		{"ConfigMissing", func(s *modelreg.ServiceCreate) { s.Config = nil }, modelreg.CodeParamRequired},
		{"ModelID", func(s *modelreg.ServiceCreate) { s.Config[0].ModelID = "x" }, modelreg.CodeParamInvalid},
		{"Weights", func(s *modelreg.ServiceCreate) { s.Config[0].Weight = 99 }, modelreg.CodeParamInvalid},
		{"Instances", func(s *modelreg.ServiceCreate) { s.Config[0].InstanceCount = 0 }, modelreg.CodeParamInvalid},
		{"Duplicate", func(s *modelreg.ServiceCreate) {
			s.Config[0].Weight = 50
			s.Config = append(s.Config, s.Config[0])
		}, modelreg.CodeDuplicateVersion},
		{"CustomSpecMissing", func(s *modelreg.ServiceCreate) { s.Config[0].Specification = "custom" }, modelreg.CodeParamRequired},
		{"VPCWithoutSubnet", func(s *modelreg.ServiceCreate) { s.VpcID = "vpc" }, modelreg.CodeParamRequired},
		{"BatchTwoEntries", func(s *modelreg.ServiceCreate) {
			s.InferType = "batch"
			s.Config = append(s.Config, s.Config[0])
		}, modelreg.CodeParamInvalid},
		{"BatchFieldsMissing", func(s *modelreg.ServiceCreate) { s.InferType = "batch" }, modelreg.CodeParamRequired},
		{"Schedule", func(s *modelreg.ServiceCreate) {
			s.Schedule = []modelreg.Schedule{{Type: "stop", TimeUnit: "WEEKS", Duration: 1}}
		}, modelreg.CodeParamInvalid},
		{"Description", func(s *modelreg.ServiceCreate) { s.Description = "a&b" }, modelreg.CodeParamInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validService()
			tt.mutate(s)
			err := s.Validate()
			if got := modelreg.ErrorAPICode(err); got != tt.code {
				t.Fatalf("Validate() = %v, want code %q", err, tt.code)
			}
		})
	}
}

func TestServiceUpdateValidate(t *testing.T) {
	running, bad := "running", "paused"
	u := modelreg.ServiceUpdate{Status: &running, Config: validService().Config}
	if err := u.Validate("real-time"); err != nil || u.Config != nil {
		t.Errorf("status with config: err %v, config kept %v (status wins)", err, u.Config != nil)
	}
	u = modelreg.ServiceUpdate{Status: &bad}
	if err := u.Validate("real-time"); modelreg.ErrorAPICode(err) != modelreg.CodeParamInvalid {
		t.Errorf("bad status: %v", err)
	}
}

func TestFlexInt(t *testing.T) {
	var c modelreg.ServiceConfig
	for in, want := range map[string]modelreg.FlexInt{`{"weight":100}`: 100, `{"weight":"40"}`: 40, `{"weight":null}`: 0} {
		if err := json.Unmarshal([]byte(in), &c); err != nil || c.Weight != want {
			t.Errorf("%s: weight %d, err %v", in, c.Weight, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"weight":"abc"}`), &c); err == nil || err.Error() == "" {
		t.Errorf("bad weight: err %v, want a describable error", err)
	}
}

func TestErrorHelpers(t *testing.T) {
	if modelreg.ErrorCode(nil) != "" || modelreg.ErrorCode(json.Unmarshal([]byte("{"), new(any))) != modelreg.EINTERNAL {
		t.Error("ErrorCode of nil or a foreign error")
	}
	err := modelreg.Internal("op", json.Unmarshal([]byte("{"), new(any)))
	if modelreg.ErrorMessage(err) != "Internal error." || modelreg.ErrorAPICode(err) != modelreg.CodeInternal {
		t.Errorf("Internal: %q %q", modelreg.ErrorMessage(err), modelreg.ErrorAPICode(err))
	}
	nf := modelreg.ModelNotFound("m")
	if modelreg.Internal("op", nf) != error(nf) {
		t.Error("Internal must keep an *Error unchanged")
	}
}

// TestServiceApply checks the service state machine every store shares:
// each status against each asked change, the events, and that a refused
// change leaves the service as it was.
func TestServiceApply(t *testing.T) {
	const now = 5000
	running, stopped := modelreg.ServiceRunning, modelreg.ServiceStopped
	other := "deleted"
	desc := "new description"
	cfg := []modelreg.ServiceConfig{{ModelID: modelB, Weight: 100}}
	for _, c := range []struct {
		name       string
		status     string
		u          modelreg.ServiceUpdate
		wantStatus string
		wantEvents int
		wantCode   string // ModelArts code of the refusal
		wantConfig bool
	}{
		{"StopRunning", modelreg.ServiceRunning, modelreg.ServiceUpdate{Status: &stopped}, stopped, 1, "", false},
		{"StopDeploying", modelreg.ServiceDeploying, modelreg.ServiceUpdate{Status: &stopped}, stopped, 1, "", false},
		{"StopConcerning", modelreg.ServiceConcerning, modelreg.ServiceUpdate{Status: &stopped}, stopped, 1, "", false},
		{"StopFailed", modelreg.ServiceFailed, modelreg.ServiceUpdate{Status: &stopped}, stopped, 1, "", false},
		{"StopStopped", stopped, modelreg.ServiceUpdate{Status: &stopped}, stopped, 0, "", false},
		{"StopFinished", modelreg.ServiceFinished, modelreg.ServiceUpdate{Status: &stopped}, "", 0, modelreg.CodeServiceState, false},
		{"StartStopped", stopped, modelreg.ServiceUpdate{Status: &running}, modelreg.ServiceDeploying, 1, "", false},
		{"StartFailed", modelreg.ServiceFailed, modelreg.ServiceUpdate{Status: &running}, modelreg.ServiceDeploying, 1, "", false},
		{"StartRunning", running, modelreg.ServiceUpdate{Status: &running}, running, 0, "", false},
		{"StartDeploying", modelreg.ServiceDeploying, modelreg.ServiceUpdate{Status: &running}, "", 0, modelreg.CodeServiceState, false},
		{"OtherStatus", running, modelreg.ServiceUpdate{Status: &other}, "", 0, modelreg.CodeParamInvalid, false},
		{"StatusWinsOverConfig", stopped, modelreg.ServiceUpdate{Status: &running, Config: cfg}, modelreg.ServiceDeploying, 1, "", false},
		{"ConfigRunning", running, modelreg.ServiceUpdate{Config: cfg}, running, 1, "", true},
		{"ConfigDeploying", modelreg.ServiceDeploying, modelreg.ServiceUpdate{Config: cfg}, "", 0, modelreg.CodeServiceState, false},
		{"DescriptionAndSchedule", running, modelreg.ServiceUpdate{Description: &desc, Schedule: []modelreg.Schedule{{Duration: 1, TimeUnit: "HOURS", Type: "stop"}}}, running, 2, "", false},
		{"RefusedKeepsDescription", modelreg.ServiceDeploying, modelreg.ServiceUpdate{Status: &running, Description: &desc}, "", 0, modelreg.CodeServiceState, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &modelreg.Service{ID: "s", Name: "svc", Status: c.status, Description: "old", TransitionAt: 1, UpdateTime: 1}
			before := *s
			change, err := s.Apply(c.u, now)
			if c.wantCode != "" {
				if modelreg.ErrorAPICode(err) != c.wantCode {
					t.Fatalf("Apply = %v, want %s", err, c.wantCode)
				}
				if s.Status != before.Status || s.Description != before.Description || s.TransitionAt != before.TransitionAt {
					t.Errorf("a refused change altered the service: %+v", s)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if s.Status != c.wantStatus {
				t.Errorf("status %s, want %s", s.Status, c.wantStatus)
			}
			if len(change.Events) != c.wantEvents || change.Changed() != (c.wantEvents > 0) {
				t.Errorf("change %+v, want %d events", change, c.wantEvents)
			}
			if (change.Config != nil) != c.wantConfig {
				t.Errorf("config replaced = %v, want %v", change.Config != nil, c.wantConfig)
			}
			if s.Status != before.Status && s.TransitionAt != now {
				t.Errorf("transition_at %d after a status change, want %d", s.TransitionAt, now)
			}
			if c.wantConfig && s.UpdateTime != now {
				t.Errorf("update_time %d after a new config, want %d", s.UpdateTime, now)
			}
		})
	}
}

func TestDueTime(t *testing.T) {
	const now = 1_000_000
	stop := func(unit string, d int) []modelreg.Schedule {
		return []modelreg.Schedule{{Type: "stop", TimeUnit: unit, Duration: d}}
	}
	for _, c := range []struct {
		name     string
		status   string
		schedule []modelreg.Schedule
		want     int64
	}{
		{"Minutes", modelreg.ServiceRunning, stop("MINUTES", 30), now + 30*60*1000},
		{"Hours", modelreg.ServiceRunning, stop("HOURS", 2), now + 2*3600*1000},
		{"DaysAnyCase", modelreg.ServiceRunning, stop("days", 1), now + 24*3600*1000},
		{"NoSchedule", modelreg.ServiceRunning, nil, 0},
		{"NotRunning", modelreg.ServiceDeploying, stop("HOURS", 2), 0},
		{"Stopped", modelreg.ServiceStopped, stop("HOURS", 2), 0},
		{"Saturates", modelreg.ServiceRunning, stop("DAYS", math.MaxInt), math.MaxInt64},
	} {
		if got := modelreg.DueTime(c.status, c.schedule, now); got != c.want {
			t.Errorf("%s: DueTime = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestServiceApplyDueTime checks the due time Apply keeps: a new schedule
// of a running service counts from now, stopping or restarting clears it,
// other changes leave it.
func TestServiceApplyDueTime(t *testing.T) {
	const now = 5_000_000
	sched := []modelreg.Schedule{{Type: "stop", TimeUnit: "MINUTES", Duration: 10}}
	stopped, running := modelreg.ServiceStopped, modelreg.ServiceRunning
	desc := "d"
	for _, c := range []struct {
		name   string
		status string
		u      modelreg.ServiceUpdate
		want   int64
	}{
		{"NewScheduleRunning", modelreg.ServiceRunning, modelreg.ServiceUpdate{Schedule: sched}, now + 10*60*1000},
		{"ScheduleRemoved", modelreg.ServiceRunning, modelreg.ServiceUpdate{Schedule: []modelreg.Schedule{}}, 0},
		{"NewScheduleStopped", modelreg.ServiceStopped, modelreg.ServiceUpdate{Schedule: sched}, 0},
		{"Stop", modelreg.ServiceRunning, modelreg.ServiceUpdate{Status: &stopped}, 0},
		{"Restart", modelreg.ServiceFailed, modelreg.ServiceUpdate{Status: &running}, 0},
		{"DescriptionKeeps", modelreg.ServiceRunning, modelreg.ServiceUpdate{Description: &desc}, 42},
	} {
		s := &modelreg.Service{ID: "s", Name: "svc", Status: c.status, DueTime: 42}
		if c.status != modelreg.ServiceRunning {
			s.DueTime = 0
			if c.want == 42 {
				c.want = 0
			}
		}
		if _, err := s.Apply(c.u, now); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if s.DueTime != c.want {
			t.Errorf("%s: due_time %d, want %d", c.name, s.DueTime, c.want)
		}
	}
}
