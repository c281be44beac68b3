package cli

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
)

// The audit trail, webhooks and cleanup policies (ARCHITECTURE §4a).

// followInterval is how often events --follow polls.
var followInterval = 2 * time.Second

func auditCommands() []*command {
	return []*command{
		{
			name:    "events",
			args:    "[--action A] [--resource ID] [--actor WHO] [--since T] [--until T] [--limit N] [--follow] [flags]",
			summary: "list the project's audit trail, newest first",
			help: `Every change, and every refused delete, is an event: who (user, access key),
from where (source address, request id), what, and the outcome. --since and
--until take RFC 3339 times or milliseconds since the epoch. --follow prints
the matching events as they come, oldest first, until interrupted.`,
			flags: eventsList,
		},
		{
			name:    "webhook create",
			args:    "--url URL --secret TEXT [--event ACTION]... [--description TEXT] [flags]",
			summary: "POST the project's events to a URL, signed with a secret",
			flags:   webhookCreate,
		},
		{
			name:    "webhook list",
			args:    "[flags]",
			summary: "list the project's webhooks",
			flags:   webhookList,
		},
		{
			name:    "webhook delete",
			args:    "WEBHOOK_ID [flags]",
			summary: "delete a webhook and its pending deliveries",
			flags:   webhookDelete,
		},
		{
			name:    "webhook deliveries",
			args:    "WEBHOOK_ID [--limit N] [flags]",
			summary: "list a webhook's latest deliveries",
			flags:   webhookDeliveries,
		},
		{
			name:    "cleanup-policy create",
			args:    "--pattern GLOB --keep-last N [--keep-days D] [--disabled] [flags]",
			summary: "create a rule that deletes old versions",
			help: `A run deletes a version of a name matching the pattern only when it is outside
the newest --keep-last of its name, older than --keep-days, not deployed and
not protected. Enabled policies run every --cleanup-interval of the server.
Try cleanup-policy preview first.`,
			flags: policyCreate,
		},
		{
			name:    "cleanup-policy list",
			args:    "[flags]",
			summary: "list the project's cleanup policies",
			flags:   policyList,
		},
		{
			name:    "cleanup-policy preview",
			args:    "POLICY_ID [flags]",
			summary: "show what a run of a policy would delete, and why it keeps the rest",
			flags:   policyPreview,
		},
		{
			name:    "cleanup-policy delete",
			args:    "POLICY_ID [flags]",
			summary: "delete a cleanup policy",
			flags:   policyDelete,
		},
	}
}

// parseTimeArg reads an RFC 3339 time or milliseconds since the epoch.
func parseTimeArg(name, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UnixMilli(), nil
	}
	var ms int64
	if _, err := fmt.Sscan(s, &ms); err == nil && ms >= 0 {
		return ms, nil
	}
	return 0, usagef("--%s %q: not an RFC 3339 time nor milliseconds", name, s)
}

func eventsList(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	action := fs.String("action", "", "only events of `action` (model.delete, model.delete_refused, …)")
	resource := fs.String("resource", "", "only events of the resource `id`")
	actor := fs.String("actor", "", "only events of the user `id`, user name or access key")
	since := fs.String("since", "", "only events at or after `time`")
	until := fs.String("until", "", "only events at or before `time`")
	limit := fs.Int("limit", 0, "events to show (default 100, at most 1000)")
	follow := fs.Bool("follow", false, "keep printing new events until interrupted")
	return func(args []string) error {
		if len(args) != 0 {
			return usagef("events takes no arguments")
		}
		f := modelreg.AuditFilter{Action: *action, ResourceID: *resource, Actor: *actor, Limit: *limit}
		var err error
		if f.Since, err = parseTimeArg("since", *since); err != nil {
			return err
		}
		if f.Until, err = parseTimeArg("until", *until); err != nil {
			return err
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		if *follow {
			return e.followEvents(c, f, g.json())
		}
		res, err := c.ListEvents(e.ctx, f)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, res)
		}
		tw := newTable(e.stdout)
		row(tw, "TIME", "ACTION", "RESOURCE", "NAME", "OUTCOME", "ACTOR", "SOURCE", "REQUEST")
		for _, ev := range res.Events {
			e.eventRow(tw, ev)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if res.NextMarker != "" {
			fmt.Fprintf(e.stdout, "more: --limit, or GET …/events?marker=%s\n", res.NextMarker)
		}
		return nil
	}
}

func (e *env) eventRow(tw interface{ Write([]byte) (int, error) }, ev *modelreg.AuditEvent) {
	outcome := ev.Outcome
	if ev.ErrorCode != "" {
		outcome += " " + ev.ErrorCode
	}
	who := ev.Actor.UserName
	if ev.Actor.AccessKey != "" {
		who += " (" + ev.Actor.AccessKey + ")"
	}
	row(tw, e.when(ev.Time), ev.Action, ev.ResourceID, ev.ResourceName, outcome, who, ev.SourceIP, ev.RequestID)
}

// followEvents prints the events matching f, oldest first, then polls for
// new ones until the context ends. Events already printed are remembered
// by id, so an event committed late (PostgreSQL assigns the order at
// insert, not commit) is printed when it shows up on the first page.
func (e *env) followEvents(c *client.Client, f modelreg.AuditFilter, asJSON bool) error {
	seen := map[string]bool{}
	f.Limit = modelreg.MaxAuditLimit
	for {
		res, err := c.ListEvents(e.ctx, f)
		if err != nil {
			if e.ctx.Err() != nil {
				return nil
			}
			return err
		}
		evs := slices.Clone(res.Events)
		slices.Reverse(evs)
		for _, ev := range evs {
			if seen[ev.ID] {
				continue
			}
			seen[ev.ID] = true
			if asJSON {
				if err := printJSON(e.stdout, ev); err != nil {
					return err
				}
				continue
			}
			tw := newTable(e.stdout)
			e.eventRow(tw, ev)
			tw.Flush()
		}
		select {
		case <-e.ctx.Done():
			return nil
		case <-time.After(followInterval):
		}
	}
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func webhookCreate(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	u := fs.String("url", "", "http(s) `URL` the events are POSTed to")
	secret := fs.String("secret", "", "shared `secret` (16 to 256 characters) the X-Modelreg-Signature HMAC is keyed by")
	desc := fs.String("description", "", "what the webhook is for")
	var events multiFlag
	fs.Var(&events, "event", "`action` to send (repeatable; default every action, \"*\")")
	return func(args []string) error {
		if len(args) != 0 {
			return usagef("webhook create takes no arguments")
		}
		if len(events) == 0 {
			events = multiFlag{"*"}
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		id, err := c.CreateWebhook(e.ctx, modelreg.WebhookCreate{URL: *u, Secret: *secret, Events: events, Description: *desc})
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, map[string]string{"webhook_id": id})
		}
		_, err = fmt.Fprintln(e.stdout, id)
		return err
	}
}

func webhookList(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 0 {
			return usagef("webhook list takes no arguments")
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		hooks, err := c.ListWebhooks(e.ctx)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, map[string]any{"webhooks": hooks})
		}
		tw := newTable(e.stdout)
		row(tw, "WEBHOOK ID", "URL", "EVENTS", "CREATED", "DESCRIPTION")
		for _, w := range hooks {
			row(tw, w.ID, w.URL, strings.Join(w.Events, ","), e.when(w.CreatedAt), w.Description)
		}
		return tw.Flush()
	}
}

func webhookDelete(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("webhook delete takes one WEBHOOK_ID, got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		if err := c.DeleteWebhook(e.ctx, args[0]); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "deleted %s\n", args[0])
		return err
	}
}

func webhookDeliveries(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	limit := fs.Int("limit", 0, "deliveries to show (default 100, at most 1000)")
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("webhook deliveries takes one WEBHOOK_ID, got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		ds, err := c.ListDeliveries(e.ctx, args[0], *limit)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, modelreg.WebhookDeliveryList{Deliveries: ds})
		}
		tw := newTable(e.stdout)
		row(tw, "DELIVERY ID", "ACTION", "STATUS", "ATTEMPTS", "LAST CODE", "LAST ERROR", "NEXT ATTEMPT")
		for _, d := range ds {
			row(tw, d.ID, d.Action, d.Status, d.Attempts, d.LastStatus, d.LastError, e.when(d.NextAttemptAt))
		}
		return tw.Flush()
	}
}

func policyCreate(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	pattern := fs.String("pattern", "", "`glob` over model names (*, ?, [a-z])")
	keepLast := fs.Int("keep-last", 0, "newest versions of each name to keep (at least 1)")
	keepDays := fs.Int("keep-days", 0, "keep versions younger than this many `days`")
	disabled := fs.Bool("disabled", false, "create the policy disabled (preview only)")
	return func(args []string) error {
		if len(args) != 0 {
			return usagef("cleanup-policy create takes no arguments")
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		enabled := !*disabled
		id, err := c.CreateCleanupPolicy(e.ctx, modelreg.CleanupPolicyBody{NamePattern: pattern, KeepLast: keepLast,
			KeepDays: keepDays, Enabled: &enabled})
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, map[string]string{"policy_id": id})
		}
		_, err = fmt.Fprintln(e.stdout, id)
		return err
	}
}

func policyList(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 0 {
			return usagef("cleanup-policy list takes no arguments")
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		ps, err := c.ListCleanupPolicies(e.ctx)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, map[string]any{"policies": ps})
		}
		tw := newTable(e.stdout)
		row(tw, "POLICY ID", "PATTERN", "KEEP LAST", "KEEP DAYS", "ENABLED", "LAST RUN")
		for _, p := range ps {
			last := "never"
			if p.LastRunAt > 0 {
				last = e.when(p.LastRunAt)
			}
			row(tw, p.ID, p.NamePattern, p.KeepLast, p.KeepDays, p.Enabled, last)
		}
		return tw.Flush()
	}
}

func policyPreview(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("cleanup-policy preview takes one POLICY_ID, got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		res, err := c.PreviewCleanupPolicy(e.ctx, args[0])
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, res)
		}
		tw := newTable(e.stdout)
		row(tw, "MODEL ID", "NAME", "VERSION", "VERDICT")
		for _, d := range res.ToDelete {
			row(tw, d.ID, d.Name, d.Version, "delete")
		}
		for _, k := range res.Kept {
			row(tw, k.ID, "", "", "keep: "+k.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%d to delete, %d kept (nothing was deleted)\n", len(res.ToDelete), len(res.Kept))
		return err
	}
}

func policyDelete(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("cleanup-policy delete takes one POLICY_ID, got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		if err := c.DeleteCleanupPolicy(e.ctx, args[0]); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "deleted %s\n", args[0])
		return err
	}
}
