package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * Table creation against a DynamoDB endpoint that refuses it, as DynamoDB does for an identity without
 * dynamodb:CreateTable: a tiny HTTP server speaking DynamoDB's JSON error protocol.
 */
class TableCreatorFailureTest {

    private HttpServer server;
    private DynamoDbAsyncClient dynamo;
    private TableCreator creator;
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::answer);
        server.start();
        dynamo = DynamoDbAsyncClient.builder()
                .endpointOverride(
                        URI.create("http://127.0.0.1:" + server.getAddress().getPort()))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder())
                .build();
    }

    @AfterEach
    void stop() {
        if (creator != null) {
            creator.stop();
        }
        dynamo.close();
        server.stop(0);
    }

    /** DescribeTable: the table does not exist; CreateTable: access denied. */
    private void answer(HttpExchange exchange) throws IOException {
        exchange.getRequestBody().readAllBytes();
        String target = String.valueOf(exchange.getRequestHeaders().getFirst("X-Amz-Target"));
        String operation = target.substring(target.indexOf('.') + 1);
        calls.computeIfAbsent(operation, o -> new AtomicInteger()).incrementAndGet();
        String body = operation.equals("CreateTable")
                ? "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"message\":\"User: arn:aws:iam::1:user/svc"
                        + " is not authorized to perform: dynamodb:CreateTable\"}"
                : "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
                        + "\"message\":\"Requested resource not found\"}";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        exchange.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.0");
        exchange.getResponseHeaders().add("x-amz-crc32", Long.toString(crc.getValue()));
        exchange.getResponseHeaders().add("x-amzn-RequestId", "test");
        exchange.sendResponseHeaders(400, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }

    @Test
    void aRefusedCreateTableIsReportedAndRetriedNotTakenForCreating() {
        creator = new TableCreator(dynamo, true);
        creator.start();
        await().atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> assertThat(creator.problem())
                        .isNotNull()
                        .contains("AccessDenied")
                        .contains("create-tables=false"));
        assertThat(creator.problem()).doesNotContain("CREATING").matches("mqtt_[a-z_]+: cannot create it: .*");
        // retried with back-off, not given up
        await().atMost(Duration.ofSeconds(20))
                .until(() ->
                        calls.getOrDefault("CreateTable", new AtomicInteger()).get() > 2 * Tables.values().length);
        assertThat(creator.problem()).contains("AccessDenied");
    }
}
