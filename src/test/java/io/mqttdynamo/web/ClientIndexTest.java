package io.mqttdynamo.web;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.store.ClientBackfill;
import io.mqttdynamo.store.Indexes;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.WritePipeline;
import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.ServiceTest;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.smallrye.mutiny.Uni;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndexDescription;
import software.amazon.awssdk.services.dynamodb.model.TableDescription;

/**
 * Online clients, prefix search and counts come from the indexes and counters that the client state
 * updates keep, fed by real MQTT clients on the embedded broker.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class ClientIndexTest extends ServiceTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final int PORT = EmbeddedBrokerProfile.brokerPort();

    @Inject
    ItemMapper mapper;

    @Inject
    WritePipeline pipeline;

    @Inject
    ClientBackfill backfill;

    @Test
    void theTablesCreatedAtStartUpHaveTheIndexesAndTheCountersTableExists() throws Exception {
        TableDescription clients = dynamo.describeTable(b -> b.tableName("mqtt_client"))
                .get(10, TimeUnit.SECONDS)
                .table();
        assertThat(clients.globalSecondaryIndexes())
                .extracting(GlobalSecondaryIndexDescription::indexName)
                .containsExactlyInAnyOrder(Indexes.ONLINE, Indexes.CLIENT_IDS);
        assertThat(clients.globalSecondaryIndexes()).allSatisfy(index -> {
            assertThat(index.indexStatusAsString()).isEqualTo("ACTIVE");
            assertThat(index.keySchema().get(1).attributeName()).isEqualTo("clientid");
        });
        assertThat(clients.globalSecondaryIndexes())
                .filteredOn(i -> i.indexName().equals(Indexes.ONLINE))
                .singleElement()
                .satisfies(i -> assertThat(i.keySchema().get(0).attributeName()).isEqualTo("online_shard"));
        TableDescription subs = dynamo.describeTable(b -> b.tableName("mqtt_sub"))
                .get(10, TimeUnit.SECONDS)
                .table();
        assertThat(subs.globalSecondaryIndexes())
                .extracting(GlobalSecondaryIndexDescription::indexName)
                .containsExactly(Indexes.SUB_BY_TOPIC);
        assertThat(dynamo.describeTable(b -> b.tableName("mqtt_dynamo_stats"))
                        .get(10, TimeUnit.SECONDS)
                        .table()
                        .tableStatusAsString())
                .isEqualTo("ACTIVE");
        // the seed's key schema stays as it was
        assertThat(clients.keySchema()).hasSize(1);
        assertThat(clients.keySchema().get(0).attributeName()).isEqualTo("clientid");
    }

    @Test
    void theOnlineListIsFullOrderedAndPagedAcrossShards() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            ids.add("idx-" + run + "-" + (char) ('a' + i) + (i % 3 == 0 ? "é" : "") + (i % 5 == 0 ? "😀" : ""));
        }
        assertThat(ids.stream().map(Indexes::shardOf).distinct().count())
                .as("spread over shards")
                .isGreaterThan(4);
        List<TestMqttClient> clients = new ArrayList<>();
        try {
            for (String id : ids) {
                clients.add(TestMqttClient.connect(id, PORT));
            }
            String prefix = "idx-" + run + "-";
            await().atMost(TIMEOUT)
                    .until(() -> allPages("/api/clients?online=true&q=" + prefix, 200)
                                    .size()
                            == 24);
            List<String> sorted = new ArrayList<>(ids);
            sorted.sort(Indexes.KEY_ORDER);
            // small pages over the merged shards: every online client once, in DynamoDB's key order
            assertThat(allPages("/api/clients?online=true&q=" + prefix, 5)).containsExactlyElementsOf(sorted);
            // the whole online list (other tests' clients too) holds them all, in order, each once
            List<String> online = allPages("/api/clients?online=true", 7);
            assertThat(online).containsAll(ids).doesNotHaveDuplicates();
            assertThat(online).isSortedAccordingTo(Indexes.KEY_ORDER);
            // the first page is full
            JsonPath first = given().get("/api/clients?online=true&limit=3")
                    .then()
                    .statusCode(200)
                    .extract()
                    .jsonPath();
            assertThat(first.getList("items")).hasSize(3);
            // online on a node: the embedded broker's
            String node = tables.item("mqtt_client", "clientid", ids.get(0))
                    .orElseThrow()
                    .get("node")
                    .s();
            assertThat(allPages("/api/clients?online=true&node=" + node + "&q=" + prefix, 4))
                    .containsExactlyElementsOf(sorted);
            assertThat(allPages("/api/clients?online=true&node=elsewhere&q=" + prefix, 4))
                    .isEmpty();

            // half leave: they drop out of the online list, the prefix search still finds all, with state
            for (int i = 0; i < 12; i++) {
                clients.get(i).disconnect();
            }
            await().atMost(TIMEOUT)
                    .until(() -> allPages("/api/clients?online=true&q=" + prefix, 200)
                                    .size()
                            == 12);
            assertThat(allPages("/api/clients?online=true&q=" + prefix, 200))
                    .containsExactlyInAnyOrderElementsOf(ids.subList(12, 24));
            List<String> all = allPages("/api/clients?q=" + prefix, 5);
            assertThat(all).containsExactlyElementsOf(sorted);
            JsonPath search = given().get("/api/clients?limit=200&q=" + prefix)
                    .then()
                    .extract()
                    .jsonPath();
            assertThat(search.getList("items.findAll { it.online }.clientId", String.class))
                    .containsExactlyInAnyOrderElementsOf(ids.subList(12, 24));
            // a prefix no one has: an empty page, no cursor
            given().get("/api/clients?q=" + prefix + "zzz")
                    .then()
                    .statusCode(200)
                    .body("items.size()", org.hamcrest.Matchers.equalTo(0))
                    .body("next", org.hamcrest.Matchers.nullValue());
            assertCountersMatchTheTable();
        } finally {
            clients.forEach(TestMqttClient::close);
        }
    }

    @Test
    void countsFollowConnectsAndDisconnectsAndARedeliveredEventCountsOnce() throws Exception {
        String id = "count-" + run;
        long at = System.currentTimeMillis();
        BrokerEvent.ClientConnected connected = new BrokerEvent.ClientConnected(id, "node-x", null, at);
        long[] before = counts();
        // the same connected event three times (a redelivery, and one racing it): one new client, one online
        pipeline.store(List.of(mapper.connected(connected))).await().atMost(Duration.ofSeconds(10));
        pipeline.store(List.of(mapper.connected(connected))).await().atMost(Duration.ofSeconds(10));
        Uni.join()
                .all(
                        pipeline.store(List.of(mapper.connected(connected))),
                        pipeline.store(List.of(mapper.connected(connected))))
                .andFailFast()
                .await()
                .atMost(Duration.ofSeconds(10));
        assertThat(counts()).containsExactly(before[0] + 1, before[1] + 1);
        assertThat(tables.item("mqtt_client", "clientid", id).orElseThrow())
                .containsEntry("online_shard", AttributeValue.fromS(Indexes.shardOf(id)))
                .containsEntry("connect_state", AttributeValue.fromN("1"));
        given().get("/api/clients?online=true&node=node-x&q=" + id)
                .then()
                .statusCode(200)
                .body("items.clientId", org.hamcrest.Matchers.contains(id));

        // disconnected twice, and a late connected: offline once, the late event is stale
        BrokerEvent.ClientDisconnected gone = new BrokerEvent.ClientDisconnected(id, "node-x", "normal", at + 2000);
        pipeline.store(List.of(mapper.disconnected(gone))).await().atMost(Duration.ofSeconds(10));
        pipeline.store(List.of(mapper.disconnected(gone))).await().atMost(Duration.ofSeconds(10));
        pipeline.store(List.of(mapper.connected(new BrokerEvent.ClientConnected(id, "node-x", null, at + 1000))))
                .await()
                .atMost(Duration.ofSeconds(10));
        assertThat(counts()).containsExactly(before[0] + 1, before[1]);
        assertThat(tables.item("mqtt_client", "clientid", id).orElseThrow())
                .doesNotContainKey("online_shard")
                .containsEntry("client_shard", AttributeValue.fromS(Indexes.shardOf(id)));

        // a real client: counted once connected, the stats API says so at once
        try (TestMqttClient client = TestMqttClient.connect("count-real-" + run, PORT)) {
            await().atMost(TIMEOUT).until(() -> counts()[0] == before[0] + 2 && counts()[1] == before[1] + 1);
            await().atMost(TIMEOUT).untilAsserted(() -> {
                JsonPath stats = given().get("/api/stats")
                        .then()
                        .statusCode(200)
                        .extract()
                        .jsonPath();
                assertThat(stats.getLong("knownClients")).isEqualTo(counts()[0]);
                assertThat(stats.getLong("onlineClients")).isEqualTo(counts()[1]);
            });
        }
        await().atMost(TIMEOUT).until(() -> counts()[1] == before[1]);
        assertCountersMatchTheTable();
    }

    @Test
    void clientsWrittenBeforeTheIndexesAreBroughtInOnce() throws Exception {
        // as the EMQX plugin or an earlier version wrote them: the seed's attributes only
        String on = "legacy-" + run + "-on";
        String off = "legacy-" + run + "-off";
        for (String id : List.of(on, off)) {
            boolean online = id.equals(on);
            dynamo.putItem(b -> b.tableName("mqtt_client")
                            .item(Map.of(
                                    "clientid",
                                    AttributeValue.fromS(id),
                                    "node",
                                    AttributeValue.fromS("emqx@old"),
                                    "connect_state",
                                    AttributeValue.fromN(online ? "1" : "0"),
                                    "online_at",
                                    AttributeValue.fromN("1700000000"),
                                    "offline_at",
                                    AttributeValue.fromN(online ? "0" : "1700000100"))))
                    .get(10, TimeUnit.SECONDS);
        }
        long[] before = counts();
        String prefix = "legacy-" + run + "-";
        given().get("/api/clients?q=" + prefix)
                .then()
                .statusCode(200)
                .body("items.size()", org.hamcrest.Matchers.equalTo(0));
        // the marker says the table was brought in: nothing happens
        backfill.run().await().atMost(TIMEOUT);
        assertThat(counts()).containsExactly(before[0], before[1]);
        // without it (a table from before), the backfill brings them in; a second run counts nothing again
        dynamo.deleteItem(b -> b.tableName("mqtt_dynamo_stats")
                        .key(Map.of("name", AttributeValue.fromS(ClientBackfill.MARKER))))
                .get(10, TimeUnit.SECONDS);
        backfill.run().await().atMost(TIMEOUT);
        assertThat(counts()).containsExactly(before[0] + 2, before[1] + 1);
        dynamo.deleteItem(b -> b.tableName("mqtt_dynamo_stats")
                        .key(Map.of("name", AttributeValue.fromS(ClientBackfill.MARKER))))
                .get(10, TimeUnit.SECONDS);
        backfill.run().await().atMost(TIMEOUT);
        assertThat(counts()).containsExactly(before[0] + 2, before[1] + 1);
        assertThat(tables.item("mqtt_dynamo_stats", "name", ClientBackfill.MARKER))
                .isPresent();
        assertThat(allPages("/api/clients?online=true&q=" + prefix, 10)).containsExactly(on);
        List<String> sorted = new ArrayList<>(List.of(off, on));
        sorted.sort(Indexes.KEY_ORDER);
        assertThat(allPages("/api/clients?q=" + prefix, 10)).containsExactlyElementsOf(sorted);
        // the seed's attributes are as they were
        assertThat(tables.item("mqtt_client", "clientid", on).orElseThrow())
                .containsEntry("node", AttributeValue.fromS("emqx@old"))
                .containsEntry("online_at", AttributeValue.fromN("1700000000"));
        assertCountersMatchTheTable();
    }

    @Test
    void clientIdsTooLongForAnIndexSortKeyAreStoredOutsideTheIndexes() throws Exception {
        // 1100 bytes: a valid partition key of mqtt_client and mqtt_sub, too long for an index sort key
        String id = "long-" + run + "-" + "x".repeat(1100 - 14);
        long[] before = counts();
        pipeline.store(List.of(
                        mapper.connected(new BrokerEvent.ClientConnected(id, "n", null, System.currentTimeMillis()))))
                .await()
                .atMost(Duration.ofSeconds(10));
        pipeline.store(List.of(mapper.subscribed(
                        new BrokerEvent.ClientSubscribed(id, "long/" + run, 1, System.currentTimeMillis()))))
                .await()
                .atMost(Duration.ofSeconds(10));
        assertThat(tables.item("mqtt_client", "clientid", id).orElseThrow())
                .containsEntry("connect_state", AttributeValue.fromN("1"))
                .doesNotContainKeys("online_shard", "client_shard");
        assertThat(tables.item("mqtt_sub", "clientid", id, "topic", "long/" + run))
                .isPresent();
        assertThat(counts()).containsExactly(before[0], before[1]);
        given().get("/api/subscriptions?q=long/" + run)
                .then()
                .statusCode(200)
                .body("items.clientId", org.hamcrest.Matchers.contains(id));
        given().get("/api/clients?q=" + "x".repeat(1100))
                .then()
                .statusCode(400)
                .body("error", org.hamcrest.Matchers.containsString("1024"));
        // a cursor past such an id: not one an index page gives
        String cursor = java.util.Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(("{\"clientid\":\"" + id + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        given().queryParam("cursor", cursor)
                .get("/api/clients?online=true")
                .then()
                .statusCode(400)
                .body("error", org.hamcrest.Matchers.containsString("invalid cursor"));
    }

    /** The counters say what the table holds: items the service wrote, and those online. */
    private void assertCountersMatchTheTable() {
        await().atMost(TIMEOUT).untilAsserted(() -> {
            long known = 0;
            long online = 0;
            for (Map<String, AttributeValue> item : tables.scan("mqtt_client")) {
                if (item.containsKey("client_shard")) {
                    known++;
                }
                if (item.containsKey("online_shard")) {
                    online++;
                    assertThat(item.get("connect_state").n()).isEqualTo("1");
                }
            }
            assertThat(counts()).containsExactly(known, online);
        });
    }

    /** known and online summed over the counter items. */
    private long[] counts() {
        long[] sum = new long[2];
        for (Map<String, AttributeValue> item : tables.scan("mqtt_dynamo_stats")) {
            sum[0] += Long.parseLong(
                    item.getOrDefault("known", AttributeValue.fromN("0")).n());
            sum[1] += Long.parseLong(
                    item.getOrDefault("online", AttributeValue.fromN("0")).n());
        }
        return sum;
    }

    /** Client ids of every page of a client listing, {@code limit} at a time. */
    private static List<String> allPages(String path, int limit) {
        List<String> ids = new ArrayList<>();
        Set<String> cursors = new HashSet<>();
        String cursor = null;
        do {
            var request = given().queryParam("limit", limit);
            if (cursor != null) {
                request = request.queryParam("cursor", cursor);
            }
            JsonPath page = request.get(path).then().statusCode(200).extract().jsonPath();
            List<String> items = page.getList("items.clientId", String.class);
            assertThat(items.size()).isLessThanOrEqualTo(limit);
            ids.addAll(items);
            cursor = page.getString("next");
            assertThat(cursor == null || cursors.add(cursor))
                    .as("a cursor seen before: %s", cursor)
                    .isTrue();
        } while (cursor != null);
        return ids;
    }
}
