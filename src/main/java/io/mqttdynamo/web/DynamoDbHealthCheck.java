package io.mqttdynamo.web;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.mqttdynamo.store.StoreHealth;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;

/**
 * Ready when DynamoDB answers, the tables and their indexes are active and DynamoDB takes the service's writes
 * (a refusal such as a lost permission makes it DOWN, naming DynamoDB's answer, until writes go through again).
 */
@Readiness
@ApplicationScoped
public class DynamoDbHealthCheck implements AsyncHealthCheck {

    private final StoreHealth store;

    public DynamoDbHealthCheck(StoreHealth store) {
        this.store = store;
    }

    @Override
    public Uni<HealthCheckResponse> call() {
        return store.check()
                .map(status -> HealthCheckResponse.named("dynamodb")
                        .status(status.problem() == null)
                        .withData("tables", status.problem() == null ? "active" : status.problem())
                        .withData("pending-writes", status.pendingWrites())
                        .build())
                .onFailure()
                .recoverWithItem(failure -> HealthCheckResponse.named("dynamodb")
                        .down()
                        .withData("error", String.valueOf(failure.getMessage()))
                        .withData("pending-writes", store.pendingWrites())
                        .build());
    }
}
