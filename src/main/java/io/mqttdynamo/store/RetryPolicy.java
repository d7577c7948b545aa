package io.mqttdynamo.store;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;

import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;

/**
 * What a failed DynamoDB write means and when it is tried again: every failure is retried after a jittered,
 * doubling delay up to {@code max-retry-delay}, except the one kind that names a single item as impossible.
 *
 * <p>The classes follow DynamoDB's error reference
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
 * <ul>
 * <li>{@link Verdict#PASSING}: network trouble, 5xx, throttling. Retried; ingest is held back only by
 * {@code max-pending}.</li>
 * <li>{@link Verdict#ITEM}: a {@code ValidationException} whose message names a property of one item that
 * no retry can change (item over 400 KB, a key over its size limit, an empty key, a type that clashes with
 * the stored item or an index key). Only that item is dropped, counted and logged.</li>
 * <li>{@link Verdict#SYSTEMIC}: every other answer of DynamoDB: permissions ({@code AccessDeniedException},
 * also from a KMS key), credentials ({@code UnrecognizedClientException}, {@code ExpiredTokenException},
 * {@code MissingAuthenticationTokenException}, signatures), a missing or busy table
 * ({@code ResourceNotFoundException}, {@code ResourceInUseException}), a {@code ValidationException} about the
 * request. Nothing is dropped: retried for as long as it lasts while ingest takes no new message. When in
 * doubt, a failure is not the item's fault.</li>
 * </ul>
 */
final class RetryPolicy {

    /** What a failed write means. */
    enum Verdict {
        /** A passing fault: try again. */
        PASSING,
        /** DynamoDB refuses every write for a reason outside the item: try again, take no new work meanwhile. */
        SYSTEMIC,
        /** DynamoDB can never store this item. */
        ITEM,
        /** Not DynamoDB's answer: a fault of the service itself. */
        INTERNAL
    }

    private static final long FIRST_DELAY_MILLIS = 50;

    /**
     * DynamoDB's error codes for throttling: a table's or index's provisioned capacity, an on-demand table's
     * throughput limit or the account's request rate (the error reference above).
     */
    static final List<String> THROTTLING_CODES =
            List.of("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded");

    /**
     * The messages of DynamoDB's {@code ValidationException} that name one item's own content. Matched as
     * substrings, case-insensitively: DynamoDB words them with a "One or more parameter values were
     * invalid:" prefix or without.
     */
    private static final List<String> ITEM_PROBLEMS = List.of(
            "item size has exceeded the maximum allowed size",
            "item size to update has exceeded the maximum allowed size",
            "size of hashkey has exceeded the maximum size limit",
            "aggregated size of all range keys has exceeded the size limit",
            "hash primary key values must be under",
            "range primary key values must be under",
            "cannot contain an empty string value",
            "may not contain an empty string",
            "type mismatch for key",
            "type mismatch for index key",
            "type mismatch for attribute to update",
            "an operand in the update expression has an incorrect data type");

    private final long maxDelayMillis;

    RetryPolicy(Duration maxDelay) {
        this.maxDelayMillis = Math.max(1, maxDelay.toMillis());
    }

    /** The delay before attempt {@code attempt + 1}: between half and all of 50 ms × 2^attempt, capped. */
    long delayMillis(int attempt) {
        long delay = Math.min(maxDelayMillis, FIRST_DELAY_MILLIS << Math.min(attempt, 16));
        return delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1);
    }

    /** The class of a failure (see the class comment). */
    static Verdict verdict(Throwable cause) {
        if (cause instanceof SdkClientException) {
            return Verdict.PASSING;
        }
        if (!(cause instanceof DynamoDbException e)) {
            return Verdict.INTERNAL;
        }
        if (e.statusCode() >= 500 || e.statusCode() == 0 || e.isThrottlingException()) {
            return Verdict.PASSING;
        }
        String code = errorCode(e);
        if (THROTTLING_CODES.contains(code) || code.equals("LimitExceededException")) {
            return Verdict.PASSING;
        }
        if (code.equals("ValidationException") && namesTheItem(e)) {
            return Verdict.ITEM;
        }
        return Verdict.SYSTEMIC;
    }

    private static boolean namesTheItem(DynamoDbException e) {
        String message = e.awsErrorDetails() != null && e.awsErrorDetails().errorMessage() != null
                ? e.awsErrorDetails().errorMessage()
                : e.getMessage();
        if (message == null) {
            return false;
        }
        String lower = message.toLowerCase(java.util.Locale.ROOT);
        return ITEM_PROBLEMS.stream().anyMatch(lower::contains);
    }

    /** DynamoDB's error code, or the exception's class name. */
    static String errorCode(Throwable cause) {
        if (cause instanceof DynamoDbException e
                && e.awsErrorDetails() != null
                && e.awsErrorDetails().errorCode() != null) {
            return e.awsErrorDetails().errorCode();
        }
        return cause.getClass().getSimpleName();
    }

    /** The failure under CompletionException wrappers. */
    static Throwable unwrap(Throwable failure) {
        Throwable cause = failure;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
