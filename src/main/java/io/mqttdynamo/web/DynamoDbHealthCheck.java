package io.mqttdynamo.web;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.mqttdynamo.store.TableCreator;
import io.mqttdynamo.store.WritePipeline;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/** Ready when DynamoDB answers and the six tables are active. */
@Readiness
@ApplicationScoped
public class DynamoDbHealthCheck implements AsyncHealthCheck {

    private final DynamoDbAsyncClient dynamo;
    private final TableCreator tables;
    private final WritePipeline pipeline;

    public DynamoDbHealthCheck(DynamoDbAsyncClient dynamo, TableCreator tables, WritePipeline pipeline) {
        this.dynamo = dynamo;
        this.tables = tables;
        this.pipeline = pipeline;
    }

    @Override
    public Uni<HealthCheckResponse> call() {
        return Uni.createFrom().completionStage(() -> dynamo.listTables(b -> b.limit(1)))
                .ifNoItem().after(Duration.ofSeconds(3)).fail()
                .map(ok -> {
                    String problem = tables.problem();
                    return HealthCheckResponse.named("dynamodb")
                            .status(problem == null)
                            .withData("tables", problem == null ? "active" : problem)
                            .withData("pending-writes", pipeline.pending())
                            .build();
                })
                .onFailure().recoverWithItem(failure -> HealthCheckResponse.named("dynamodb")
                        .down()
                        .withData("error", String.valueOf(failure.getMessage()))
                        .withData("pending-writes", pipeline.pending())
                        .build());
    }
}
