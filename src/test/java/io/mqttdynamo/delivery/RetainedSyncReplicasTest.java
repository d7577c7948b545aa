package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.RetainedBrokerClient;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.hooks.HookRouter;
import io.mqttdynamo.hooks.HookRules;
import io.mqttdynamo.hooks.Republications;
import io.mqttdynamo.store.ClusterLeases;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.ReadCost;
import io.mqttdynamo.store.RetainedReads;
import io.mqttdynamo.store.StoreMetrics;
import io.mqttdynamo.store.WritePipeline;
import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.OwnMosquitto;
import io.mqttdynamo.support.TestMqttClient;
import io.mqttdynamo.support.TestTables;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Two replicas (two comparisons with their own MQTT connections and pipelines) against one Mosquitto and one
 * dynalite of the test's own: asked at the same time, as after a broker restart, one compares and the other
 * skips; once the run has ended, the other may run.
 */
class RetainedSyncReplicasTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final int ROWS = 20;

    private static int brokerPort;
    private static Process mosquitto;
    private static DynaliteServer dynalite;
    private static DynamoDbAsyncClient dynamo;

    @BeforeAll
    static void start() throws Exception {
        brokerPort = LocalDynamoDbResource.freePort();
        mosquitto = OwnMosquitto.start(brokerPort);
        dynalite = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
        dynamo = DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(dynalite.endpoint()))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .build();
        TestTables.create(dynamo);
    }

    @AfterAll
    static void stop() {
        dynamo.close();
        dynalite.close();
        mosquitto.destroyForcibly();
    }

    /** One replica's comparison, wired as the service wires it. */
    private static RetainedSync replica(String clientId) {
        SmallRyeConfig raw = new SmallRyeConfigBuilder()
                .withMapping(MqttDynamoConfig.class)
                .withDefaultValues(Map.of(
                        "mqtt-dynamo.broker.host",
                        "127.0.0.1",
                        "mqtt-dynamo.broker.port",
                        Integer.toString(brokerPort),
                        "mqtt-dynamo.broker.client-id",
                        clientId))
                .build();
        MqttDynamoConfig config = raw.getConfigMapping(MqttDynamoConfig.class);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        BrokerSessions sessions = new BrokerSessions(config, registry);
        HookRules rules = new HookRules(config, raw);
        ItemMapper items = new ItemMapper(config, registry);
        return new RetainedSync(
                new RetainedBrokerClient(sessions),
                new RetainedReads(dynamo, new ReadCost(registry), config),
                new ClusterLeases(dynamo),
                new WritePipeline(dynamo, new StoreMetrics(registry), config),
                items,
                rules,
                new HookRouter(rules, items, config, sessions, new Republications(), registry),
                config,
                registry,
                sessions);
    }

    /** Rows of mqtt_retain that the broker lacks (it never had them). */
    private static List<String> rowsTheBrokerLacks(String prefix) throws Exception {
        EmqxMsgId ids = new EmqxMsgId();
        List<String> topics = Stream.iterate(0, i -> i + 1)
                .limit(ROWS)
                .map(i -> prefix + "/" + i)
                .toList();
        for (String topic : topics) {
            dynamo.putItem(b -> b.tableName("mqtt_retain")
                            .item(Map.of(
                                    "topic",
                                    AttributeValue.fromS(topic),
                                    "msgid",
                                    AttributeValue.fromS(ids.next()),
                                    "qos",
                                    AttributeValue.fromN("1"),
                                    "sender",
                                    AttributeValue.fromS("s"),
                                    "retain",
                                    AttributeValue.fromN("1"),
                                    "arrived",
                                    AttributeValue.fromN("1700000000"),
                                    "payload",
                                    AttributeValue.fromS("v " + topic))))
                    .get(10, TimeUnit.SECONDS);
        }
        return topics;
    }

    /** The topics under {@code prefix} the broker retains, as a new subscriber is sent them. */
    private static List<String> retainedOnBroker(String prefix, int expected) {
        try (TestMqttClient reader = TestMqttClient.connect("reader-" + System.nanoTime(), brokerPort)) {
            reader.subscribe(prefix + "/#", 1);
            await().atMost(TIMEOUT).until(() -> reader.received().size() >= expected);
            return reader.received().stream()
                    .map(p -> p.getTopic().toString())
                    .sorted()
                    .toList();
        }
    }

    private static Object outcome(CompletableFuture<RetainedSync.Report> run) {
        try {
            return run.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void twoReplicasAskedAtOnceCompareOnce() throws Exception {
        List<String> topics = rowsTheBrokerLacks("at-once");
        RetainedSync first = replica("mqtt-dynamo-0");
        RetainedSync second = replica("mqtt-dynamo-1");

        CompletableFuture<RetainedSync.Report> a = first.sync().subscribeAsCompletionStage();
        CompletableFuture<RetainedSync.Report> b = second.sync().subscribeAsCompletionStage();
        List<Object> outcomes = List.of(outcome(a), outcome(b));

        List<RetainedSync.Report> ran = outcomes.stream()
                .filter(o -> o instanceof RetainedSync.Report)
                .map(RetainedSync.Report.class::cast)
                .toList();
        List<Throwable> skipped = outcomes.stream()
                .filter(o -> o instanceof Throwable)
                .map(Throwable.class::cast)
                .toList();
        assertThat(ran).as("runs that compared").hasSize(1);
        assertThat(ran.get(0).republished()).isEqualTo(ROWS);
        assertThat(skipped)
                .singleElement()
                .isInstanceOf(RetainedSync.NotNowException.class)
                .extracting(Throwable::getMessage)
                .asString()
                .contains("mqtt-dynamo-");
        RetainedSync skipper = outcomes.get(0) instanceof Throwable ? first : second;
        assertThat(skipper.progress().phase()).isEqualTo("skipped");
        assertThat(skipper.progress().error()).contains("holds the lease");
        assertThat(retainedOnBroker("at-once", ROWS))
                .isEqualTo(topics.stream().sorted().toList());

        // The lease was given up with the run: the other replica runs now, and finds nothing to put back.
        RetainedSync.Report again = skipper.sync().await().atMost(TIMEOUT);
        assertThat(again.republished()).isZero();
        assertThat(skipper.progress().phase()).isEqualTo("done");
    }

    /** At start-up, the replica that skips follows the other's run: when that one stops without a word, it compares. */
    @Test
    void atStartUpAReplicaComparesWhenTheOneComparingStopped() throws Exception {
        List<String> topics = rowsTheBrokerLacks("taken-over");
        // Another replica took the lease and stopped: it renews it no more.
        dynamo.putItem(b -> b.tableName("mqtt_dynamo_stats")
                        .item(Map.of(
                                "name", AttributeValue.fromS("lease#retained-sync"),
                                "lease_owner", AttributeValue.fromS("mqtt-dynamo-5/stopped"),
                                "lease_until",
                                        AttributeValue.fromN(Long.toString(System.currentTimeMillis() + 1_500)))))
                .get(10, TimeUnit.SECONDS);
        RetainedSync follower = replica("mqtt-dynamo-6");

        RetainedSync.Report report = follower.syncAtStart().await().atMost(TIMEOUT);

        assertThat(report).isNotNull();
        assertThat(report.republished()).isEqualTo(ROWS);
        assertThat(retainedOnBroker("taken-over", ROWS))
                .isEqualTo(topics.stream().sorted().toList());
    }
}
