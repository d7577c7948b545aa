package io.mqttdynamo.store;

import jakarta.enterprise.context.Dependent;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.opentelemetry.api.trace.Tracer;
import io.quarkus.arc.Unremovable;

/**
 * Gives the DynamoDB client its {@link DynamoDbSpans} while traces are on, and nothing while they are off
 * ({@code quarkus.otel.sdk.disabled=true}, the default).
 *
 * <p>{@code quarkus.dynamodb.interceptors} names {@link DynamoDbSpans}; quarkus-amazon-services looks each named
 * interceptor up as a CDI bean when it builds the client and leaves out one that comes back null
 * (AmazonClientCommonRecorder.initSdkClient: {@code .map(this::createInterceptor).filter(Objects::nonNull)}). Off,
 * the client has no interceptor of the service's: no call per request, no span, nothing to measure.
 */
@Dependent
public class DynamoDbTracing {

    @Produces
    @Dependent
    @Unremovable
    DynamoDbSpans spans(
            @ConfigProperty(name = "quarkus.otel.sdk.disabled", defaultValue = "false") boolean disabled,
            Instance<Tracer> tracer) {
        return disabled ? null : new DynamoDbSpans(tracer.get());
    }
}
