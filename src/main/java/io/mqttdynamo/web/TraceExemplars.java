package io.mqttdynamo.web;

import java.util.Optional;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.Dependent;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.prometheus.client.exemplars.DefaultExemplarSampler;
import io.prometheus.client.exemplars.ExemplarSampler;
import io.prometheus.client.exemplars.tracer.common.SpanContextSupplier;

/**
 * The Prometheus registry's exemplar sampler (the trace id of a recorded latency beside its histogram bucket, in
 * the OpenMetrics format), only while traces are on. With quarkus-opentelemetry present Quarkus gives the registry
 * a sampler whatever {@code quarkus.otel.sdk.disabled} says, which looks for a current span on every recorded
 * latency (one per stored message): off, there is none to find, and this producer gives none.
 */
@Dependent
public class TraceExemplars {

    @Produces
    @Dependent
    @Alternative
    @Priority(1)
    Optional<ExemplarSampler> exemplarSampler(
            @ConfigProperty(name = "quarkus.otel.sdk.disabled", defaultValue = "false") boolean disabled) {
        if (disabled) {
            return Optional.empty();
        }
        return Optional.of(new DefaultExemplarSampler(new SpanContextSupplier() {
            @Override
            public String getTraceId() {
                SpanContext span = Span.current().getSpanContext();
                return span.isValid() ? span.getTraceId() : null;
            }

            @Override
            public String getSpanId() {
                SpanContext span = Span.current().getSpanContext();
                return span.isValid() ? span.getSpanId() : null;
            }

            @Override
            public boolean isSampled() {
                return Span.current().getSpanContext().isSampled();
            }
        }));
    }
}
