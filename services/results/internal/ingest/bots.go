package ingest

import (
	"regexp"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

// Reserved attributes Optimizely SDKs send with every event.
const (
	botFilteringAttribute = "$opt_bot_filtering"
	userAgentAttribute    = "$opt_user_agent"
)

// botUserAgent matches the user agents of crawlers, monitors, headless
// browsers and HTTP libraries: the substrings the IAB/ABC spiders list and
// the common bot user agents are built from. A visitor sending none of
// these is a person as far as Lift can tell.
var botUserAgent = regexp.MustCompile(`(?i)bot\b|bot/|crawl|spider|slurp|mediapartners|facebookexternalhit|` +
	`headlesschrome|phantomjs|selenium|lighthouse|pingdom|uptimerobot|statuscake|` +
	`python-requests|python-urllib|curl/|wget/|go-http-client|java/|okhttp|axios/|node-fetch|libwww|httpclient`)

// isBot reports whether a visitor's events are dropped: bot filtering is on
// (the visitor's $opt_bot_filtering attribute, which SDKs copy from the
// datafile, or the datafile itself) and its $opt_user_agent is a bot's.
func isBot(attrs []*resultsv1.VisitorAttribute, datafileSays bool) bool {
	filtering, agent := datafileSays, ""
	for _, a := range attrs {
		switch a.GetKey() {
		case botFilteringAttribute:
			filtering = a.GetValue().GetBoolValue()
		case userAgentAttribute:
			agent = a.GetValue().GetStringValue()
		}
	}
	return filtering && agent != "" && botUserAgent.MatchString(agent)
}
