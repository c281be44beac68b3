package cli

import (
	"flag"
	"fmt"
	"strings"

	"github.com/modelreg/modelreg"
)

func serviceCommands() []*command {
	return []*command{
		{name: "service list", args: "[flags]", summary: "list services", flags: serviceList},
		{name: "service show", args: "SERVICE [flags]", summary: "show a service and its models", flags: serviceShow},
		{
			name:    "service deploy",
			args:    "--name NAME --model MODEL [--model MODEL ...] [flags]",
			summary: "deploy models as a service",
			help: `modelreg records deployments; it runs no inference. A service pins its
models: they cannot be deleted while the service exists, even stopped.
Give --weight once per --model (they must add up to 100); without --weight
the traffic is split evenly. A MODEL is a model id or NAME:VERSION. The
service is printed whole, as 'service show' prints it.`,
			flags: serviceDeploy,
		},
		{
			name:    "service update",
			args:    "SERVICE [--description TEXT] [--weight MODEL=PERCENT ...] [flags]",
			summary: "change the description or the traffic weights of a service",
			help: `--weight sets the traffic percent of one of the service's models (an id or
NAME:VERSION); give it once per model to change, the weights of all must
still add up to 100. The other settings of each model are kept.`,
			flags: serviceUpdate,
		},
		{name: "service stop", args: "SERVICE [flags]", summary: "stop a service (its models stay pinned)", flags: serviceSetStatus(modelreg.ServiceStopped)},
		{name: "service start", args: "SERVICE [flags]", summary: "start a stopped service", flags: serviceSetStatus(modelreg.ServiceRunning)},
		{
			name:    "service delete",
			args:    "SERVICE [SERVICE ...] [flags]",
			summary: "delete services, all or none, unpinning their models",
			flags:   serviceDelete,
		},
		{name: "service events", args: "SERVICE [flags]", summary: "list the events of a service", flags: serviceEvents},
	}
}

func serviceList(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	var f modelreg.ServiceFilter
	fs.StringVar(&f.Name, "name", "", "services whose name contains `text`")
	fs.StringVar(&f.ModelID, "model", "", "services using the `model` (an id or NAME:VERSION)")
	fs.StringVar(&f.Status, "status", "", "services in this `status`: "+strings.Join(modelreg.ServiceStatuses, ", "))
	fs.StringVar(&f.InferType, "infer-type", "", "services of this inference `type`: real-time or batch")
	fs.IntVar(&f.Limit, "limit", 0, "services per `page` (server default 1000)")
	page := fs.Int("page", 1, "`page` number, from 1")
	fs.IntVar(&f.Offset, "offset", 0, "page `index`, from 0, as the API counts (--page 1 is --offset 0)")
	fs.StringVar(&f.SortBy, "sort-by", "", "sort `key`: publish_at or service_name (default publish_at)")
	fs.StringVar(&f.Order, "order", "", "sort `order`: asc or desc (default desc)")
	return func(args []string) error {
		if len(args) > 0 {
			return usagef("service list takes no arguments, got %q", args[0])
		}
		if err := pageOffset(&f.Offset, *page); err != nil {
			return err
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		if f.ModelID != "" {
			if f.ModelID, err = e.resolveModel(c, f.ModelID); err != nil {
				return err
			}
		}
		list, err := c.ListServices(e.ctx, f)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, list)
		}
		if len(list.Services) == 0 {
			_, err := fmt.Fprintf(e.stdout, "No services found (%d in all).\n", list.TotalCount)
			return err
		}
		tw := newTable(e.stdout)
		row(tw, "SERVICE ID", "NAME", "STATUS", "INFER TYPE", "PUBLISHED")
		for _, s := range list.Services {
			row(tw, s.ID, s.Name, s.Status, s.InferType, e.when(s.PublishAt))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		return pageFooter(e.stdout, "services", f.Offset, f.Limit, len(list.Services), list.TotalCount)
	}
}

func serviceShow(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("service show takes one SERVICE (an id or a name), got %d arguments", len(args))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		id, err := e.resolveService(c, args[0])
		if err != nil {
			return err
		}
		s, err := c.GetService(e.ctx, id)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, s)
		}
		return e.printService(s)
	}
}

func (e *env) printService(s *modelreg.Service) error {
	tw := newTable(e.stdout)
	field := func(k string, v any) { row(tw, k+":", v) }
	field("Service ID", s.ID)
	field("Name", s.Name)
	field("Status", s.Status)
	if s.ErrorMsg != "" {
		field("Error", s.ErrorMsg)
	}
	field("Infer type", s.InferType)
	field("Description", s.Description)
	field("Project", s.ProjectID)
	field("Published", e.when(s.PublishAt))
	field("Updated", e.when(s.UpdateTime))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	tw = newTable(e.stdout)
	row(tw, "MODEL ID", "NAME", "VERSION", "WEIGHT", "SPECIFICATION", "INSTANCES")
	for _, c := range s.Config {
		row(tw, c.ModelID, c.ModelName, c.ModelVersion, int(c.Weight), c.Specification, c.InstanceCount)
	}
	return tw.Flush()
}

// intList is a repeatable integer flag.
type intList []int

func (l *intList) String() string { return strings.Trim(fmt.Sprint(*l), "[]") }

func (l *intList) Set(s string) error {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return fmt.Errorf("not an integer: %q", s)
	}
	*l = append(*l, n)
	return nil
}

// evenWeights splits 100 between n models, the first ones getting the
// remainder: 3 → 34, 33, 33.
func evenWeights(n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = 100 / n
		if i < 100%n {
			w[i]++
		}
	}
	return w
}

func serviceDeploy(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	var (
		sc      = modelreg.ServiceCreate{InferType: modelreg.InferRealTime}
		models  stringList
		weights intList
	)
	fs.StringVar(&sc.Name, "name", "", "service `name` (required)")
	fs.StringVar(&sc.Description, "description", "", "service `description`")
	fs.Var(&models, "model", "`model` to deploy, an id or NAME:VERSION (repeatable, at least one)")
	fs.Var(&weights, "weight", "traffic `percent` of the --model at the same position (repeatable; default: an even split)")
	spec := fs.String("spec", "modelarts.vm.cpu.2u", "resource `flavor` of each model")
	instances := fs.Int("instances", 1, "`count` of instances of each model")
	fs.StringVar(&sc.InferType, "infer-type", sc.InferType, "inference `type`: real-time or batch")
	return func(args []string) error {
		switch {
		case len(args) > 0:
			return usagef("service deploy takes no arguments, got %q", args[0])
		case sc.Name == "":
			return usagef("missing --name")
		case len(models) == 0:
			return usagef("missing --model")
		case len(weights) > 0 && len(weights) != len(models):
			return usagef("got %d --weight for %d --model: give one per model, or none", len(weights), len(models))
		}
		if len(weights) == 0 && sc.InferType == modelreg.InferRealTime {
			weights = evenWeights(len(models))
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		for i, ref := range models {
			id, err := e.resolveModel(c, ref)
			if err != nil {
				return err
			}
			cfg := modelreg.ServiceConfig{ModelID: id, Specification: *spec, InstanceCount: *instances}
			if i < len(weights) {
				cfg.Weight = modelreg.FlexInt(weights[i])
			}
			sc.Config = append(sc.Config, cfg)
		}
		res, err := c.CreateService(e.ctx, &sc)
		if err != nil {
			return err
		}
		s, err := c.GetService(e.ctx, res.ServiceID)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, s)
		}
		return e.printService(s)
	}
}

func serviceSetStatus(status string) func(e *env, fs *flag.FlagSet) func([]string) error {
	return func(e *env, fs *flag.FlagSet) func([]string) error {
		g := e.clientFlags(fs)
		return func(args []string) error {
			if len(args) != 1 {
				return usagef("takes one SERVICE (an id or a name), got %d arguments", len(args))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			id, err := e.resolveService(c, args[0])
			if err != nil {
				return err
			}
			if status == modelreg.ServiceStopped {
				err = c.StopService(e.ctx, id)
			} else {
				err = c.StartService(e.ctx, id)
			}
			if err != nil {
				return err
			}
			s, err := c.GetService(e.ctx, id)
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(e.stdout, s)
			}
			_, err = fmt.Fprintf(e.stdout, "Service %s (%s) is %s.\n", s.ID, s.Name, s.Status)
			return err
		}
	}
}

func serviceDelete(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	return func(args []string) error {
		if len(args) == 0 {
			return usagef("service delete takes at least one SERVICE (an id or a name)")
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		if args, err = e.resolveServices(c, args); err != nil {
			return err
		}
		if err := c.DeleteServices(e.ctx, args...); err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, struct {
				Deleted []string `json:"deleted"`
			}{args})
		}
		for _, id := range args {
			if _, err := fmt.Fprintf(e.stdout, "Deleted service %s.\n", id); err != nil {
				return err
			}
		}
		return nil
	}
}

func serviceEvents(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	var f modelreg.EventFilter
	fs.StringVar(&f.EventType, "type", "", "events of this `type`: normal or abnormal")
	fs.IntVar(&f.Limit, "limit", 0, "events per `page`")
	page := fs.Int("page", 1, "`page` number, from 1")
	fs.IntVar(&f.Offset, "offset", 0, "page `index`, from 0, as the API counts (--page 1 is --offset 0)")
	fs.StringVar(&f.Order, "order", "", "`order` by time: asc or desc (default desc)")
	return func(args []string) error {
		if len(args) != 1 {
			return usagef("service events takes one SERVICE (an id or a name), got %d arguments", len(args))
		}
		if err := pageOffset(&f.Offset, *page); err != nil {
			return err
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		id, err := e.resolveService(c, args[0])
		if err != nil {
			return err
		}
		list, err := c.ListServiceEvents(e.ctx, id, f)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, list)
		}
		tw := newTable(e.stdout)
		row(tw, "TIME", "TYPE", "EVENT")
		for _, ev := range list.Events {
			row(tw, e.when(ev.OccurTime), ev.EventType, ev.EventInfo)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		return pageFooter(e.stdout, "events", f.Offset, f.Limit, len(list.Events), list.TotalCount)
	}
}

func serviceUpdate(e *env, fs *flag.FlagSet) func([]string) error {
	g := e.clientFlags(fs)
	var weights stringList
	desc := fs.String("description", "", "new service `description`")
	fs.Var(&weights, "weight", "`MODEL=PERCENT`: the traffic weight of one of the service's models (repeatable)")
	return func(args []string) error {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		switch {
		case len(args) != 1:
			return usagef("service update takes one SERVICE (an id or a name), got %d arguments", len(args))
		case !set["description"] && len(weights) == 0:
			return usagef("nothing to update: give --description or --weight")
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		id, err := e.resolveService(c, args[0])
		if err != nil {
			return err
		}
		var u modelreg.ServiceUpdate
		if set["description"] {
			u.Description = desc
		}
		if len(weights) > 0 {
			s, err := c.GetService(e.ctx, id)
			if err != nil {
				return err
			}
			u.Config = s.Config
			for _, w := range weights {
				ref, pct, ok := strings.Cut(w, "=")
				var n int
				if _, err := fmt.Sscan(pct, &n); !ok || err != nil {
					return usagef("invalid --weight %q: want MODEL=PERCENT", w)
				}
				mid, err := e.resolveModel(c, ref)
				if err != nil {
					return err
				}
				found := false
				for i := range u.Config {
					if u.Config[i].ModelID == mid {
						u.Config[i].Weight, found = modelreg.FlexInt(n), true
					}
				}
				if !found {
					return fmt.Errorf("service %s does not use model %s", s.Name, ref)
				}
			}
			for i := range u.Config { // response-only fields
				u.Config[i].ModelName, u.Config[i].ModelVersion, u.Config[i].Status = "", "", ""
			}
		}
		if err := c.UpdateService(e.ctx, id, &u); err != nil {
			return err
		}
		s, err := c.GetService(e.ctx, id)
		if err != nil {
			return err
		}
		if g.json() {
			return printJSON(e.stdout, s)
		}
		return e.printService(s)
	}
}
