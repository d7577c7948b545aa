package io.mqttdynamo.web;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

import io.mqttdynamo.ingest.EventIngest;

/**
 * Live while no message failed inside the service. Such a message is not acknowledged; the broker
 * redelivers it only to a new session, so a restart is what brings it back.
 */
@Liveness
@ApplicationScoped
public class IngestHealthCheck implements HealthCheck {

    private final EventIngest ingest;

    public IngestHealthCheck(EventIngest ingest) {
        this.ingest = ingest;
    }

    @Override
    public HealthCheckResponse call() {
        long failures = ingest.unacknowledgedFailures();
        return HealthCheckResponse.named("ingest")
                .withData("unacknowledged-failures", failures)
                .status(failures == 0)
                .build();
    }
}
