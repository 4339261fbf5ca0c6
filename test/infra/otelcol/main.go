// Command otelcol-palisade is a minimal OpenTelemetry Collector for Palisade's tests.
//
// Invariants:
//   - Built only from go.opentelemetry.io/collector modules at one release (v0.165.0,
//     component/pdata v1.71.0) plus contrib's fileexporter v0.165.1.
//   - Components: the OTLP receiver (gRPC + HTTP) and the file exporter; nothing else.
//   - With no --config flag it runs the embedded config.yaml: OTLP gRPC on
//     127.0.0.1:14317, OTLP/HTTP on 127.0.0.1:14318, logs/metrics/traces appended as
//     OTLP JSON lines to $PALISADE_OTELCOL_OUT/{logs,metrics,traces}.jsonl.
//     --config flags (file:, yaml:, env: URIs) replace the embedded default.
package main

import (
	_ "embed"
	"fmt"
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

//go:embed config.yaml
var defaultConfig string

func factories() (otelcol.Factories, error) {
	receivers, err := otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	exporters, err := otelcol.MakeFactoryMap[exporter.Factory](fileexporter.NewFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	return otelcol.Factories{
		Receivers: receivers,
		Exporters: exporters,
		Telemetry: otelconftelemetry.NewFactory(),
	}, nil
}

func main() {
	// The embedded config writes to ${env:PALISADE_OTELCOL_OUT}; unset, it would
	// write to /logs.jsonl and so on.
	if len(os.Args) == 1 && os.Getenv("PALISADE_OTELCOL_OUT") == "" {
		fmt.Fprintln(os.Stderr, "otelcol-palisade: PALISADE_OTELCOL_OUT must name the output directory of the embedded config")
		os.Exit(2)
	}
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol-palisade",
			Description: "Palisade test OpenTelemetry Collector (OTLP in, JSON lines files out)",
			Version:     "0.165.0-palisade",
		},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				URIs: []string{"yaml:" + defaultConfig},
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "otelcol-palisade: %v\n", err)
		os.Exit(1)
	}
}
