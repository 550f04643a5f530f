// Package awskms is a kms.KEK provider backed by AWS KMS, or anything that
// speaks its API (local-kms in tests), through aws-sdk-go-v2. It is its own
// package so that package auth, which takes a kms.KEK, does not depend on the
// AWS SDK (and through it on net/http).
package awskms

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gatehouse-auth/gatehouse/kms"
)

// Config configures the AWS KMS provider.
type Config struct {
	// KeyID is the symmetric KMS key that wraps data keys: a key id, key
	// ARN, alias name ("alias/…") or alias ARN.
	KeyID string
	// Region is the AWS region; empty: from the default configuration chain.
	Region string
	// Endpoint overrides the service endpoint (a KMS-compatible server such as
	// local-kms, or a VPC endpoint); empty: AWS's.
	Endpoint string
	// AccessKeyID and SecretAccessKey set static credentials; empty: the
	// default chain (environment, shared files, web identity, instance role).
	AccessKeyID     string
	SecretAccessKey string
}

// Provider is a KEK provider backed by AWS KMS. Data keys are wrapped with the KMS
// Encrypt call under a symmetric key; KMS keeps the key's versions (automatic
// rotation) inside its ciphertext, and the envelope records the key's ARN.
type Provider struct {
	client *awskms.Client
	keyID  string
}

// encryptionContext is bound to every wrapped data key (KMS additional
// authenticated data, and visible in CloudTrail).
var encryptionContext = map[string]string{"purpose": "gatehouse-data-key"}

// New builds a provider from cfg.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.KeyID == "" {
		return nil, errors.New("awskms: provider needs a key id")
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("awskms: configuration: %w", err)
	}
	client := awskms.NewFromConfig(awsCfg, func(o *awskms.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return NewFromClient(client, cfg.KeyID), nil
}

// NewFromClient uses an existing KMS client.
func NewFromClient(client *awskms.Client, keyID string) *Provider {
	return &Provider{client: client, keyID: keyID}
}

// Wrap encrypts dek with KMS Encrypt and returns the ARN of the key used.
func (a *Provider) Wrap(ctx context.Context, dek []byte) (string, []byte, error) {
	out, err := a.client.Encrypt(ctx, &awskms.EncryptInput{
		KeyId:               aws.String(a.keyID),
		Plaintext:           dek,
		EncryptionContext:   encryptionContext,
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	})
	if err != nil {
		return "", nil, err
	}
	keyID := aws.ToString(out.KeyId)
	if keyID == "" {
		keyID = a.keyID
	}
	return keyID, out.CiphertextBlob, nil
}

// Unwrap decrypts a data key with KMS Decrypt, pinned to keyID so KMS refuses
// a ciphertext made under any other key.
func (a *Provider) Unwrap(ctx context.Context, keyID string, wrapped []byte) ([]byte, error) {
	out, err := a.client.Decrypt(ctx, &awskms.DecryptInput{
		KeyId:               aws.String(keyID),
		CiphertextBlob:      wrapped,
		EncryptionContext:   encryptionContext,
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
	})
	if err != nil {
		var ic *types.InvalidCiphertextException
		var ik *types.IncorrectKeyException
		var nf *types.NotFoundException
		switch {
		case errors.As(err, &ic), errors.As(err, &ik):
			return nil, fmt.Errorf("%w: %v", kms.ErrDecrypt, err)
		case errors.As(err, &nf):
			return nil, fmt.Errorf("%w: %v", kms.ErrUnknownKEK, err)
		}
		return nil, err
	}
	return out.Plaintext, nil
}

var _ kms.KEK = (*Provider)(nil)
