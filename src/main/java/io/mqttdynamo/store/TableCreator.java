package io.mqttdynamo.store;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletionStage;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.mqttdynamo.config.Lifecycle;
import io.mqttdynamo.config.LogFields;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.CreateGlobalSecondaryIndexAction;
import software.amazon.awssdk.services.dynamodb.model.DescribeTableResponse;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndex;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndexUpdate;
import software.amazon.awssdk.services.dynamodb.model.IndexStatus;
import software.amazon.awssdk.services.dynamodb.model.ResourceInUseException;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;
import software.amazon.awssdk.services.dynamodb.model.TableDescription;
import software.amazon.awssdk.services.dynamodb.model.TableStatus;

/**
 * Makes sure the tables exist at start-up: creates the missing ones with the EMQX key schemas and the
 * service's indexes, adds missing indexes to existing tables (unless told not to) and waits until DynamoDB reports them active, without holding up start-up.
 * Until then writes wait and retry, and readiness says which tables are missing.
 */
@ApplicationScoped
public class TableCreator {

    private final DynamoDbAsyncClient dynamo;
    private final boolean createTables;
    private volatile String problem = "tables not checked yet";
    private volatile Cancellable running;
    private final java.util.concurrent.CompletableFuture<Void> active = new java.util.concurrent.CompletableFuture<>();
    private final java.util.Map<Tables, String> lastLogged = new java.util.EnumMap<>(Tables.class);
    /** Indexes (table/index) this service asked DynamoDB to add. */
    private final java.util.Set<String> indexesRequested = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @Inject
    public TableCreator(DynamoDbAsyncClient dynamo, MqttDynamoConfig config) {
        this(dynamo, config.store().createTables());
    }

    TableCreator(DynamoDbAsyncClient dynamo, boolean createTables) {
        this.dynamo = dynamo;
        this.createTables = createTables;
    }

    void onStart(@Observes @Priority(Lifecycle.START_TABLES) StartupEvent event) {
        start();
    }

    /** Checks (and creates) the six tables in the background until they are all active. */
    void start() {
        running = Uni.join()
                .all(Arrays.stream(Tables.values()).map(this::ensure).toList())
                .andFailFast()
                .subscribe()
                .with(
                        ok -> {
                            problem = null;
                            active.complete(null);
                            Log.infof(
                                    "DynamoDB tables ready: %s",
                                    Arrays.stream(Tables.values())
                                            .map(Tables::tableName)
                                            .toList());
                        },
                        failure -> Log.errorf("DynamoDB tables not ready: %s", failure.getMessage()));
    }

    /** Stops checking (and retrying). */
    void stop() {
        Cancellable current = running;
        if (current != null) {
            current.cancel();
        }
    }

    /** Completes once every table and index is active. */
    CompletionStage<Void> active() {
        return active.minimalCompletionStage();
    }

    /** Null when all six tables are active, else what is wrong and what to do. */
    public String problem() {
        return problem;
    }

    private Uni<Void> ensure(Tables table) {
        return describe(table)
                .onFailure(ResourceNotFoundException.class)
                .recoverWithUni(missing -> create(table))
                .onItem()
                .transformToUni(description -> description == null || description.tableStatus() != TableStatus.ACTIVE
                        ? Uni.createFrom()
                                .failure(new NotActiveYet(table.tableName() + " is "
                                        + (description == null ? TableStatus.CREATING : description.tableStatus())))
                        : ensureIndexes(table, description))
                .onFailure()
                .invoke(failure -> report(table, failure))
                .onFailure()
                .retry()
                .withBackOff(Duration.ofMillis(100), Duration.ofSeconds(5))
                .indefinitely()
                .replaceWithVoid();
    }

    private Uni<TableDescription> describe(Tables table) {
        return Uni.createFrom()
                .completionStage(() -> dynamo.describeTable(b -> b.tableName(table.tableName())))
                .map(DescribeTableResponse::table);
    }

    /**
     * The table is active: its indexes too? A missing one is added (UpdateTable, one index at a time, as
     * DynamoDB allows); a DynamoDB that accepts the request but adds no index (dynalite) gets the command to
     * run logged instead, as does a service told not to create tables.
     */
    private Uni<Void> ensureIndexes(Tables table, TableDescription description) {
        java.util.Map<String, IndexStatus> present = new java.util.HashMap<>();
        if (description.hasGlobalSecondaryIndexes()) {
            description.globalSecondaryIndexes().forEach(i -> present.put(i.indexName(), i.indexStatus()));
        }
        for (GlobalSecondaryIndex index : table.indexes()) {
            IndexStatus status = present.get(index.indexName());
            if (status == IndexStatus.ACTIVE) {
                continue;
            }
            if (status != null) {
                return Uni.createFrom()
                        .failure(new NotActiveYet(table.tableName() + " index " + index.indexName() + " is " + status));
            }
            String key = table.tableName() + '/' + index.indexName();
            if (!createTables || !indexesRequested.add(key)) {
                return Uni.createFrom()
                        .failure(new IllegalStateException(table.tableName() + " has no index "
                                + index.indexName() + (createTables ? " (this DynamoDB did not add it when asked)" : "")
                                + ": add it with " + Indexes.addCommand(table, index)));
            }
            try (LogFields fields = LogFields.of(LogFields.TABLE, table.tableName())) {
                Log.infof("adding index %s to DynamoDB table %s", index.indexName(), table.tableName());
            }
            return Uni.createFrom()
                    .completionStage(() -> dynamo.updateTable(b -> b.tableName(table.tableName())
                            .attributeDefinitions(index.keySchema().stream()
                                    .map(k -> Tables.stringAttribute(k.attributeName()))
                                    .toList())
                            .globalSecondaryIndexUpdates(GlobalSecondaryIndexUpdate.builder()
                                    .create(CreateGlobalSecondaryIndexAction.builder()
                                            .indexName(index.indexName())
                                            .keySchema(index.keySchema())
                                            .projection(index.projection())
                                            .build())
                                    .build())))
                    .onFailure()
                    .transform(failure ->
                            new TableFailure("cannot add index " + index.indexName(), RetryPolicy.unwrap(failure)))
                    .flatMap(done -> Uni.createFrom()
                            .failure(new NotActiveYet(
                                    table.tableName() + " index " + index.indexName() + " is being added")));
        }
        return Uni.createFrom().voidItem();
    }

    private Uni<TableDescription> create(Tables table) {
        if (!createTables) {
            return Uni.createFrom()
                    .failure(new IllegalStateException(table.tableName()
                            + " does not exist: create it with the key schema in docs/tables.md, or set"
                            + " mqtt-dynamo.store.create-tables=true"));
        }
        try (LogFields fields = LogFields.of(LogFields.TABLE, table.tableName())) {
            Log.infof("creating DynamoDB table %s", table.tableName());
        }
        return Uni.createFrom()
                .completionStage(() -> dynamo.createTable(table.createRequest()))
                .map(response -> response.tableDescription())
                // Only "in use" means someone (another replica) is creating it; anything else is a failure.
                .onFailure(failure -> RetryPolicy.unwrap(failure) instanceof ResourceInUseException)
                .recoverWithItem((TableDescription) null)
                .onFailure()
                .transform(failure -> new TableFailure("cannot create it", RetryPolicy.unwrap(failure)));
    }

    /** A table that exists and is not active yet (being created): expected, not a failure to warn of. */
    private static final class NotActiveYet extends IllegalStateException {
        NotActiveYet(String message) {
            super(message);
        }
    }

    /** A failed DynamoDB call on a table, with what the service was doing. */
    private static final class TableFailure extends RuntimeException {
        TableFailure(String doing, Throwable cause) {
            super(doing + ": " + cause.getMessage(), cause);
        }
    }

    /** Records what is wrong for readiness and the dashboard; logs it once per change, not per retry. */
    private void report(Tables table, Throwable failure) {
        String now = describeProblem(table, failure);
        synchronized (lastLogged) {
            if (!now.equals(lastLogged.get(table))) {
                lastLogged.put(table, now);
                if (RetryPolicy.unwrap(failure) instanceof NotActiveYet) {
                    Log.debugf("DynamoDB table not active yet: %s", now);
                } else {
                    Log.warnf("DynamoDB table not ready (retrying): %s", now);
                }
            }
        }
        problem = now;
    }

    static String describeProblem(Tables table, Throwable failure) {
        Throwable cause = RetryPolicy.unwrap(failure);
        String what = cause instanceof IllegalStateException
                ? cause.getMessage()
                : cause instanceof TableFailure ? cause.getMessage() : "cannot describe it: " + cause.getMessage();
        Throwable root = cause instanceof TableFailure ? cause.getCause() : cause;
        String advice = "";
        if (root instanceof DynamoDbException dynamoFailure && dynamoFailure.awsErrorDetails() != null) {
            String code = String.valueOf(dynamoFailure.awsErrorDetails().errorCode());
            if (code.contains("AccessDenied") || code.contains("UnrecognizedClient") || code.contains("Signature")) {
                advice = " (" + code + "); give the service's AWS identity dynamodb:DescribeTable and CreateTable on"
                        + " the table, or create the tables yourself (see docs/tables.md) and set"
                        + " mqtt-dynamo.store.create-tables=false";
            } else {
                advice = " (" + code + ")";
            }
        }
        String text = what.startsWith(table.tableName()) ? what : table.tableName() + ": " + what;
        return text + advice;
    }
}
