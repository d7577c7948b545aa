package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.TestTables;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/**
 * The DynamoDB spans against a real local DynamoDB: a client with {@link DynamoDbSpans} (as the service's gets it
 * while traces are on) sends real requests, and the spans it made are read from an in-memory exporter.
 */
class DynamoDbSpansTest {

    private static DynaliteServer dynalite;
    private static DynamoDbAsyncClient plain;
    private final InMemorySpanExporter exported = InMemorySpanExporter.create();
    private OpenTelemetrySdk otel;
    private DynamoDbAsyncClient traced;

    @BeforeAll
    static void startDynamo() throws Exception {
        dynalite = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
        plain = TestTables.client(dynalite.endpoint());
        TestTables.create(plain, Tables.MSG, Tables.RETAIN);
    }

    @AfterAll
    static void stopDynamo() {
        plain.close();
        dynalite.close();
    }

    @BeforeEach
    void tracedClient() {
        otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder()
                        .addSpanProcessor(SimpleSpanProcessor.create(exported))
                        .build())
                .build();
        traced = DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(dynalite.endpoint()))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .overrideConfiguration(o -> o.retryStrategy(RetryMode.STANDARD)
                        .retryStrategy(b -> b.maxAttempts(1))
                        .addExecutionInterceptor(new DynamoDbSpans(otel.getTracer("test"))))
                .build();
    }

    @AfterEach
    void close() {
        traced.close();
        otel.close();
    }

    @Test
    void aBatchWriteIsOneSpanWithItsTablesAndItemCount() throws Exception {
        WriteRequest[] messages = new WriteRequest[3];
        for (int i = 0; i < messages.length; i++) {
            messages[i] = put("msgid", "m" + i);
        }
        traced.batchWriteItem(b -> b.requestItems(Map.of(
                        Tables.MSG.tableName(),
                        List.of(messages),
                        Tables.RETAIN.tableName(),
                        List.of(put("topic", "t/1"), put("topic", "t/2")))))
                .get(10, TimeUnit.SECONDS);

        SpanData span = single();
        assertThat(span.getName()).isEqualTo("DynamoDB.BatchWriteItem");
        assertThat(span.getKind()).isEqualTo(SpanKind.CLIENT);
        assertThat(span.getAttributes().get(DynamoDbSpans.TABLE_NAMES))
                .containsExactlyInAnyOrder("mqtt_msg", "mqtt_retain");
        assertThat(span.getAttributes().get(DynamoDbSpans.ITEMS)).isEqualTo(5);
        assertThat(span.getAttributes().get(DynamoDbSpans.UNPROCESSED)).isNull();
        assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
        assertThat(span.hasEnded()).isTrue();
    }

    @Test
    void aQueryIsAChildOfTheCurrentSpanAndCountsWhatItReturned() throws Exception {
        traced.putItem(b -> b.tableName("mqtt_msg").item(Map.of("msgid", s("q1"), "topic", s("a/b"))))
                .get(10, TimeUnit.SECONDS);
        exported.reset();
        Span parent = otel.getTracer("test").spanBuilder("GET /api/messages").startSpan();
        try (Scope scope = parent.makeCurrent()) {
            traced.query(b -> b.tableName("mqtt_msg")
                            .keyConditionExpression("msgid = :id")
                            .expressionAttributeValues(Map.of(":id", s("q1"))))
                    .get(10, TimeUnit.SECONDS);
        } finally {
            parent.end();
        }
        SpanData query = exported.getFinishedSpanItems().stream()
                .filter(span -> span.getName().equals("DynamoDB.Query"))
                .findFirst()
                .orElseThrow();
        assertThat(query.getParentSpanId()).isEqualTo(parent.getSpanContext().getSpanId());
        assertThat(query.getTraceId()).isEqualTo(parent.getSpanContext().getTraceId());
        assertThat(query.getAttributes().get(DynamoDbSpans.TABLE_NAMES)).containsExactly("mqtt_msg");
        assertThat(query.getAttributes().get(DynamoDbSpans.COUNT)).isEqualTo(1);
        assertThat(query.getAttributes().get(DynamoDbSpans.ITEMS)).isNull();
    }

    @Test
    void aSingleItemRequestCountsOneAndAFailureCarriesItsErrorCode() {
        assertThatThrownBy(() -> traced.putItem(
                                b -> b.tableName("no_such_table").item(Map.of("msgid", s("x"))))
                        .get(10, TimeUnit.SECONDS))
                .hasMessageContaining("ResourceNotFoundException");
        SpanData span = single();
        assertThat(span.getName()).isEqualTo("DynamoDB.PutItem");
        assertThat(span.getAttributes().get(DynamoDbSpans.TABLE_NAMES)).containsExactly("no_such_table");
        assertThat(span.getAttributes().get(DynamoDbSpans.ITEMS)).isEqualTo(1);
        assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(span.getStatus().getDescription()).isEqualTo("ResourceNotFoundException");
        assertThat(span.getEvents())
                .anySatisfy(event -> assertThat(event.getName()).isEqualTo("exception"));
    }

    /** Off, the service's DynamoDB client gets no interceptor at all (quarkus-amazon-services drops a null one). */
    @Test
    void offThereIsNoInterceptor() {
        assertThat(new DynamoDbTracing().spans(true, null)).isNull();
    }

    private SpanData single() {
        List<SpanData> spans = exported.getFinishedSpanItems();
        assertThat(spans).hasSize(1);
        return spans.get(0);
    }

    private static WriteRequest put(String key, String value) {
        return WriteRequest.builder()
                .putRequest(PutRequest.builder().item(Map.of(key, s(value))).build())
                .build();
    }

    private static AttributeValue s(String value) {
        return AttributeValue.fromS(value);
    }
}
