package io.mqttdynamo.store;

import io.mqttdynamo.config.Lifecycle;
import java.time.Duration;
import java.util.Arrays;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.DescribeTableResponse;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;
import software.amazon.awssdk.services.dynamodb.model.TableStatus;

/**
 * Makes sure the six tables exist at start-up: creates the missing ones with the EMQX key schemas
 * (unless told not to) and waits until DynamoDB reports them active, without holding up start-up.
 * Until then writes wait and retry, and readiness says which tables are missing.
 */
@ApplicationScoped
public class TableCreator {


    private final DynamoDbAsyncClient dynamo;
    private final boolean createTables;
    private volatile String problem = "tables not checked yet";

    public TableCreator(DynamoDbAsyncClient dynamo, MqttDynamoConfig config) {
        this.dynamo = dynamo;
        this.createTables = config.store().createTables();
    }

    void onStart(@Observes @Priority(Lifecycle.START_TABLES) StartupEvent event) {
        Uni.join().all(Arrays.stream(Tables.values()).map(this::ensure).toList()).andFailFast()
                .subscribe().with(
                        ok -> {
                            problem = null;
                            Log.infof("DynamoDB tables ready: %s", Arrays.stream(Tables.values())
                                    .map(Tables::tableName).toList());
                        },
                        failure -> Log.errorf("DynamoDB tables not ready: %s", failure.getMessage()));
    }

    /** Null when all six tables are active, else what is wrong and what to do. */
    public String problem() {
        return problem;
    }

    private Uni<Void> ensure(Tables table) {
        return describe(table)
                .onFailure(ResourceNotFoundException.class).recoverWithUni(missing -> create(table))
                .onItem().transformToUni(status -> status == TableStatus.ACTIVE
                        ? Uni.createFrom().voidItem()
                        : Uni.createFrom().failure(new IllegalStateException(table.tableName() + " is " + status)))
                .onFailure().invoke(failure -> problem = describeProblem(table, failure))
                .onFailure().retry().withBackOff(Duration.ofMillis(100), Duration.ofSeconds(5)).indefinitely()
                .replaceWithVoid();
    }

    private Uni<TableStatus> describe(Tables table) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.describeTable(b -> b.tableName(table.tableName())))
                .map(DescribeTableResponse::table)
                .map(t -> t.tableStatus());
    }

    private Uni<TableStatus> create(Tables table) {
        if (!createTables) {
            return Uni.createFrom().failure(new IllegalStateException(table.tableName()
                    + " does not exist: create it with the key schema in the README, or set"
                    + " mqtt-dynamo.store.create-tables=true"));
        }
        Log.infof("creating DynamoDB table %s", table.tableName());
        return Uni.createFrom().completionStage(() -> dynamo.createTable(table.createRequest()))
                .map(response -> response.tableDescription().tableStatus())
                .onFailure().recoverWithItem(TableStatus.CREATING);
    }

    private static String describeProblem(Tables table, Throwable failure) {
        return table.tableName() + ": " + RetryPolicy.unwrap(failure).getMessage();
    }
}
