package io.mqttdynamo.store;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.DescribeTableResponse;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;

/**
 * Whether the store can do its work: DynamoDB answers, the tables and their indexes are active, and DynamoDB
 * takes the service's writes (a refusal such as a lost permission is a problem until writes go through again).
 */
@ApplicationScoped
public class StoreHealth {

    /** How long DynamoDB has to answer. */
    static final Duration ANSWER_WITHIN = Duration.ofSeconds(3);

    /** {@code problem}: null when all is well, else what is wrong (the tables' or the writes'). */
    public record Status(String problem, int pendingWrites) {}

    private final DynamoDbAsyncClient dynamo;
    private final TableCreator tables;
    private final WritePipeline pipeline;

    public StoreHealth(DynamoDbAsyncClient dynamo, TableCreator tables, WritePipeline pipeline) {
        this.dynamo = dynamo;
        this.tables = tables;
        this.pipeline = pipeline;
    }

    /** The store's status once DynamoDB answered; fails when it does not within {@link #ANSWER_WITHIN}. */
    public Uni<Status> check() {
        // DescribeTable of one table, not ListTables: the local server answers ListTables by walking its whole
        // store (3.3 s with 500,000 clients), which would fail a health check's 3 s
        return Uni.createFrom()
                .completionStage(() -> dynamo.describeTable(b -> b.tableName(Tables.CLIENT.tableName())))
                // a missing table is the table creator's to report; DynamoDB answered
                .onFailure(failure -> failure instanceof ResourceNotFoundException
                        || failure.getCause() instanceof ResourceNotFoundException)
                .recoverWithItem((DescribeTableResponse) null)
                .ifNoItem()
                .after(ANSWER_WITHIN)
                .fail()
                .map(answered -> {
                    String problem = tables.problem();
                    if (problem == null) {
                        problem = pipeline.refusal()
                                .map(WritePipeline.Refusal::describe)
                                .orElse(null);
                    }
                    return new Status(problem, pipeline.pending());
                });
    }

    /** Writes queued or in flight. */
    public int pendingWrites() {
        return pipeline.pending();
    }
}
