package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

// Query is one PromQL expression of a Grafana dashboard panel, with the dashboard's variables
// replaced so that Prometheus can evaluate it as is.
type Query struct {
	Panel string // panel title
	RefID string // the target's refId within the panel
	Expr  string
}

// Values given to Grafana's built-in interval variables, so that queries can be checked against
// a real Prometheus outside Grafana.
var grafanaBuiltins = map[string]string{
	"__rate_interval": "1m",
	"__range":         "5m",
	"__interval":      "15s",
}

// varRef matches $name, ${name}, ${name:format} and [[name]].
var varRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

type dashboardJSON struct {
	Panels     []dashboardPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
}

type dashboardPanel struct {
	Title   string           `json:"title"`
	Type    string           `json:"type"`
	Panels  []dashboardPanel `json:"panels"` // a collapsed row's panels
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// DashboardQueries reads the Grafana dashboard at path and returns the expression of every
// panel target, in panel order, with $__rate_interval, $__range and $__interval replaced by 1m,
// 5m and 15s and every template variable by the match-all regexp ".*". Rows are not panels of
// their own; the panels of collapsed rows are included. A reference to an unknown variable is
// an error.
func DashboardQueries(path string) ([]Query, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d dashboardJSON
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	vars := map[string]string{}
	for k, v := range grafanaBuiltins {
		vars[k] = v
	}
	for _, v := range d.Templating.List {
		vars[v.Name] = ".*"
	}
	var qs []Query
	var walk func([]dashboardPanel) error
	walk = func(ps []dashboardPanel) error {
		for _, p := range ps {
			if p.Type == "row" {
				if err := walk(p.Panels); err != nil {
					return err
				}
				continue
			}
			for _, t := range p.Targets {
				var unknown string
				expr := varRef.ReplaceAllStringFunc(t.Expr, func(ref string) string {
					m := varRef.FindStringSubmatch(ref)
					name := m[1] + m[2] + m[3]
					v, ok := vars[name]
					if !ok && unknown == "" {
						unknown = ref
					}
					return v
				})
				if unknown != "" {
					return fmt.Errorf("%s: panel %q: unknown variable %s", path, p.Title, unknown)
				}
				qs = append(qs, Query{Panel: p.Title, RefID: t.RefID, Expr: expr})
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, err
	}
	return qs, nil
}
