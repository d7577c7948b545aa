package io.mqttdynamo.bench;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;

/** What the benchmark's pieces share: its log, JSON, HTTP and DynamoDB clients, polling, rounding. */
final class BenchSupport {

    static final PrintStream LOG = System.err;
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private BenchSupport() {}

    static void log(String format, Object... args) {
        LOG.println("[bench] " + String.format(format, args));
    }

    static Double round(double value, int decimals) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return null;
        }
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }

    static double percentile(List<Double> sorted, double p) {
        int index = (int) Math.ceil(p * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    /**
     * Runs {@code step} every {@code every} until it returns true; the step itself decides when to give up
     * (no progress for the stall time, or past its deadline), so the poll has no time limit of its own.
     */
    static void poll(Duration every, Callable<Boolean> step) {
        await().forever().pollDelay(Duration.ZERO).pollInterval(every).until(step);
    }

    /** Waits for a publisher to finish, at most twice the stall time (it gives up by itself after that). */
    static void finish(CompletableFuture<Void> publishing, Duration stall) {
        try {
            publishing.get(2 * Math.max(1, stall.toSeconds()) + 5, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            log("publisher still running; going on");
        } catch (ExecutionException e) {
            log("publisher failed: %s", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static boolean answers(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static void createTable(DynamoDbAsyncClient db, String table, String hashKey) {
        db.createTable(b -> b.tableName(table)
                        .keySchema(KeySchemaElement.builder()
                                .attributeName(hashKey)
                                .keyType(KeyType.HASH)
                                .build())
                        .attributeDefinitions(AttributeDefinition.builder()
                                .attributeName(hashKey)
                                .attributeType(ScalarAttributeType.S)
                                .build())
                        .billingMode(BillingMode.PAY_PER_REQUEST))
                .join();
        db.waiter().waitUntilTableExists(b -> b.tableName(table)).join();
    }

    static DynamoDbAsyncClient dynamoClient(String endpoint) {
        return DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().maxConcurrency(64))
                .build();
    }

    /** True once progress has not grown by 1 % of what is expected within the stall time. */
    static final class Stall {
        private final long step;
        private final Duration stall;
        private long mark = -1;
        private long markNanos = System.nanoTime();

        Stall(long expected, Duration stall) {
            this.step = Math.max(1, expected / 100);
            this.stall = stall;
        }

        boolean check(long progress, long now) {
            if (mark < 0 || progress >= mark + step) {
                mark = progress;
                markNanos = now;
            }
            return now - markNanos > stall.toNanos();
        }
    }
}
