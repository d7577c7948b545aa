package io.mqttdynamo.web;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.mqttdynamo.store.TableCreator;
import io.mqttdynamo.store.Tables;
import io.mqttdynamo.store.WritePipeline;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.DescribeTableResponse;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;

/**
 * Ready when DynamoDB answers, the tables and their indexes are active and DynamoDB takes the service's writes
 * (a refusal such as a lost permission makes it DOWN, naming DynamoDB's answer, until writes go through again).
 */
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
        // DescribeTable of one table, not ListTables: the local server answers ListTables by walking its whole
        // store (3.3 s with 500,000 clients), which would fail this check's 3 s
        return Uni.createFrom().completionStage(() -> dynamo.describeTable(b -> b.tableName(Tables.CLIENT.tableName())))
                // a missing table is the table creator's to report; DynamoDB answered
                .onFailure(failure -> failure instanceof ResourceNotFoundException
                        || failure.getCause() instanceof ResourceNotFoundException)
                .recoverWithItem((DescribeTableResponse) null)
                .ifNoItem().after(Duration.ofSeconds(3)).fail()
                .map(ok -> {
                    String problem = tables.problem();
                    if (problem == null) {
                        problem = pipeline.refusal().map(WritePipeline.Refusal::describe).orElse(null);
                    }
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
