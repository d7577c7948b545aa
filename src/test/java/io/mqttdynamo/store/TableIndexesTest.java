package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.LocalDynamoDbResource;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.CreateTableRequest;

/**
 * Tables that exist without the service's indexes (created by EMQX's users or an older version), on the
 * local server, which accepts UpdateTable's index creation and adds nothing: not ready, with the command
 * that adds the index.
 */
class TableIndexesTest {

    private DynaliteServer server;
    private DynamoDbAsyncClient dynamo;
    private TableCreator creator;

    @BeforeEach
    void start() throws Exception {
        server = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
        dynamo = DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(server.endpoint()))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .build();
        for (Tables table : Tables.values()) {
            CreateTableRequest withIndexes = table.createRequest();
            // the seed's key schema only
            CreateTableRequest plain = withIndexes.toBuilder()
                    .globalSecondaryIndexes(
                            (java.util.Collection<software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndex>)
                                    null)
                    .attributeDefinitions(withIndexes.attributeDefinitions().stream()
                            .filter(d -> withIndexes.keySchema().stream()
                                    .anyMatch(k -> k.attributeName().equals(d.attributeName())))
                            .toList())
                    .build();
            dynamo.createTable(plain).get(10, TimeUnit.SECONDS);
        }
    }

    @AfterEach
    void stop() {
        if (creator != null) {
            creator.stop();
        }
        dynamo.close();
        server.close();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aTableWithoutTheIndexesIsNotReadyAndTheProblemSaysWhatToRun(boolean createTables) {
        creator = new TableCreator(dynamo, createTables);
        creator.start();
        await().atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> assertThat(creator.problem())
                        .isNotNull()
                        .contains(" has no index ")
                        .contains("add it with aws dynamodb update-table --table-name mqtt_")
                        .contains("--global-secondary-index-updates"));
        assertThat(creator.problem().contains("did not add it when asked")).isEqualTo(createTables);
        assertThat(creator.active().toCompletableFuture()).isNotDone();
    }
}
