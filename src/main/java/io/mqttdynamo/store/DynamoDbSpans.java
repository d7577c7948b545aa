package io.mqttdynamo.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;

import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.SdkResponse;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttribute;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

/**
 * One OpenTelemetry span per DynamoDB request, named after its operation ({@code DynamoDB.BatchWriteItem}), with the
 * tables it touches and the number of items it carries: an AWS SDK execution interceptor of the service's DynamoDB
 * client. The client gets it only while traces are on ({@link DynamoDbTracing}); off, nothing of it runs.
 *
 * <p>The span's parent is the OpenTelemetry context current where the request is sent: an API request's span for
 * the dashboard's and API's reads. Writes of ingested messages start their own traces (MQTT messages carry none).
 */
public final class DynamoDbSpans implements ExecutionInterceptor {

    /** The OpenTelemetry semantic conventions' attribute of the DynamoDB tables a request names. */
    static final AttributeKey<List<String>> TABLE_NAMES = AttributeKey.stringArrayKey("aws.dynamodb.table_names");
    /** Items a request carries: put, updated, deleted or asked for (1 for a single-item request). */
    static final AttributeKey<Long> ITEMS = AttributeKey.longKey("mqtt_dynamo.dynamodb.items");
    /** The semantic conventions' attribute of a Query's or Scan's {@code Count}: items returned. */
    static final AttributeKey<Long> COUNT = AttributeKey.longKey("aws.dynamodb.count");
    /** Items a BatchWriteItem or BatchGetItem answer gives back as not processed (sent again by the pipeline). */
    static final AttributeKey<Long> UNPROCESSED = AttributeKey.longKey("mqtt_dynamo.dynamodb.unprocessed_items");

    /**
     * Where a request's span waits for its answer. The SDK refuses two attributes of one name in a JVM
     * (ExecutionAttribute.ensureUnique), and this class is loaded again by each restart of dev mode or of a test
     * profile while the SDK's classes stay: a name of its own per loading.
     */
    private static final ExecutionAttribute<Span> SPAN =
            new ExecutionAttribute<>("io.mqttdynamo.store.DynamoDbSpans/" + java.util.UUID.randomUUID());

    private final Tracer tracer;

    public DynamoDbSpans(Tracer tracer) {
        this.tracer = tracer;
    }

    @Override
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
        SdkRequest request = context.request();
        String operation = attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        var span = tracer.spanBuilder("DynamoDB." + operation)
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute("rpc.system", "aws-api")
                .setAttribute("rpc.service", "DynamoDB")
                .setAttribute("rpc.method", operation)
                .setAttribute("db.system", "dynamodb")
                .setAttribute(TABLE_NAMES, tables(request));
        long items = items(request);
        if (items >= 0) {
            span.setAttribute(ITEMS, items);
        }
        attributes.putAttribute(SPAN, span.startSpan());
    }

    @Override
    public void afterExecution(Context.AfterExecution context, ExecutionAttributes attributes) {
        Span span = attributes.getAttribute(SPAN);
        if (span == null) {
            return;
        }
        SdkResponse response = context.response();
        response.getValueForField("Count", Integer.class).ifPresent(count -> span.setAttribute(COUNT, count));
        long unprocessed = count(
                        response.getValueForField("UnprocessedItems", Map.class).orElse(null))
                + count(response.getValueForField("UnprocessedKeys", Map.class).orElse(null));
        if (unprocessed > 0) {
            span.setAttribute(UNPROCESSED, unprocessed);
        }
        span.end();
    }

    @Override
    public void onExecutionFailure(Context.FailedExecution context, ExecutionAttributes attributes) {
        Span span = attributes.getAttribute(SPAN);
        if (span == null) {
            return;
        }
        span.recordException(context.exception());
        span.setStatus(StatusCode.ERROR, RetryPolicy.errorCode(context.exception()));
        span.end();
    }

    /** The tables a request names: its TableName, or the keys of a batch's RequestItems. */
    static List<String> tables(SdkRequest request) {
        var table = request.getValueForField("TableName", String.class);
        if (table.isPresent()) {
            return List.of(table.get());
        }
        return request.getValueForField("RequestItems", Map.class)
                .map(items -> {
                    List<String> names = new ArrayList<>();
                    for (Object name : items.keySet()) {
                        names.add(String.valueOf(name));
                    }
                    return names;
                })
                .orElse(List.of());
    }

    /**
     * The items a request carries: a batch's writes or keys over all its tables, 1 for a request about one item
     * (it has a Key or an Item), -1 when it names none (Query, Scan, table operations).
     */
    static long items(SdkRequest request) {
        var batch = request.getValueForField("RequestItems", Map.class);
        if (batch.isPresent()) {
            return count(batch.get());
        }
        if (request.getValueForField("Key", Map.class).isPresent()
                || request.getValueForField("Item", Map.class).isPresent()) {
            return 1;
        }
        return -1;
    }

    /**
     * The entries of a batch's per-table map: BatchWriteItem's lists of write requests, BatchGetItem's
     * KeysAndAttributes (whose keys are counted).
     */
    private static long count(Map<?, ?> perTable) {
        if (perTable == null) {
            return 0;
        }
        long n = 0;
        for (Object entry : perTable.values()) {
            if (entry instanceof Collection<?> writes) {
                n += writes.size();
            } else if (entry instanceof software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes keys) {
                n += keys.keys().size();
            }
        }
        return n;
    }
}
