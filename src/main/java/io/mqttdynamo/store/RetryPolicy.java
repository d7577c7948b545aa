package io.mqttdynamo.store;

import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;

import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;

/**
 * When a failed DynamoDB write is tried again: passing faults (network, throttling, server errors, a
 * table being created) after a jittered, doubling delay up to {@code max-retry-delay}; anything else is
 * a refusal that retrying cannot cure.
 */
final class RetryPolicy {

    private static final long FIRST_DELAY_MILLIS = 50;

    private final long maxDelayMillis;

    RetryPolicy(Duration maxDelay) {
        this.maxDelayMillis = Math.max(1, maxDelay.toMillis());
    }

    /** The delay before attempt {@code attempt + 1}: between half and all of 50 ms × 2^attempt, capped. */
    long delayMillis(int attempt) {
        long delay = Math.min(maxDelayMillis, FIRST_DELAY_MILLIS << Math.min(attempt, 16));
        return delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1);
    }

    /** Network trouble, throttling, server errors and missing tables pass; a refused request does not. */
    static boolean isRetryable(Throwable cause) {
        if (cause instanceof SdkClientException) {
            return true;
        }
        if (cause instanceof DynamoDbException e) {
            String code = errorCode(e);
            return e.statusCode() >= 500 || e.statusCode() == 0 || e.isThrottlingException()
                    || code.equals("ResourceNotFoundException") || code.equals("ProvisionedThroughputExceededException")
                    || code.equals("RequestLimitExceeded") || code.equals("ThrottlingException")
                    || code.equals("LimitExceededException") || code.equals("ResourceInUseException");
        }
        return false;
    }

    /** DynamoDB's error code, or the exception's class name. */
    static String errorCode(Throwable cause) {
        if (cause instanceof DynamoDbException e && e.awsErrorDetails() != null
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
