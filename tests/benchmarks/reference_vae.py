"""PyTorch versions of the vae plugin's two networks, its loss and one training epoch.

Layer by layer these follow plugins/vae/src/architectures.cpp and training.cpp: the same shapes,
paddings, crops, activations, channels-last reshapes and frozen batch normalisation. Weights keep
PyTorch's default initialisation because only speed is measured here. The epoch mirrors
genmem::Vae::fit with its defaults: shuffling, one reparameterised sample per image, the KL term
with weight 1 and AMSGrad Adam. It omits fit's per-epoch copy of the weights (its rollback point
for a diverged loss), which is small next to the training arithmetic.
"""

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_RELU_SLOPE = 0.3
BATCH_NORM_EPSILON = 1e-3
BATCH_NORM_MOMENTUM = 0.01
# Keras' backend epsilon, the clamp of binary cross-entropy predictions.
PROBABILITY_CLAMP = 1e-7
# Keras' Adam defaults, which genmem uses.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-7

IMAGE_SHAPES = {"mnist_small": (1, 28, 28), "shapes3d_large": (3, 64, 64)}


class FrozenBatchNorm2d(nn.Module):
    """Batch normalisation in inference mode while training, genmem's default "frozen" mode.

    The running mean 0 and variance 1 never change, so the layer is the learned affine map
    gamma * x / sqrt(1 + 0.001) + beta.
    """

    def __init__(self, channels):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x):
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.gamma,
            self.beta,
            training=False,
            momentum=BATCH_NORM_MOMENTUM,
            eps=BATCH_NORM_EPSILON,
        )


def reshape_channels_last(x, channels, height, width):
    """Reshape a dense output [N, H * W * C] to [N, C, H, W], read in Keras' channels-last order."""
    return x.view(x.shape[0], height, width, channels).permute(0, 3, 1, 2)


class MnistEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, stride=2)
        self.conv2 = nn.Conv2d(32, 64, 3, stride=2)
        self.hidden = nn.Linear(7 * 7 * 64, 16)
        self.bottleneck = nn.Linear(16, latent_dim)
        self.mean = nn.Linear(latent_dim, latent_dim)
        self.log_var = nn.Linear(latent_dim, latent_dim)

    def forward(self, images):
        # TensorFlow's 'same' padding for a 3x3 kernel with stride 2 on an even-sized input adds
        # one row at the bottom and one column at the right.
        x = self.conv1(F.pad(images, (0, 1, 0, 1)))
        x = self.conv2(F.pad(F.relu(x), (0, 1, 0, 1)))
        x = F.relu(x).permute(0, 2, 3, 1).flatten(1)
        x = self.bottleneck(F.relu(self.hidden(x)))
        return self.mean(x), self.log_var(x)


class MnistDecoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.dense = nn.Linear(latent_dim, 7 * 7 * 64)
        self.deconv1 = nn.ConvTranspose2d(64, 64, 3, stride=2)
        self.deconv2 = nn.ConvTranspose2d(64, 32, 3, stride=2)
        self.deconv3 = nn.ConvTranspose2d(32, 1, 3, stride=1, padding=1)

    def forward(self, latents):
        x = F.relu(reshape_channels_last(self.dense(latents), 64, 7, 7))
        # TensorFlow's 'same' transposed convolution drops the last row and column of the full
        # 2 * H + 1 output.
        x = F.relu(self.deconv1(x)[:, :, :-1, :-1])
        x = F.relu(self.deconv2(x)[:, :, :-1, :-1])
        return torch.sigmoid(self.deconv3(x))


class Shapes3dEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        channels = [3, 32, 64, 128, 256]
        self.convs = nn.ModuleList(
            nn.Conv2d(channels[i], channels[i + 1], 4, stride=2) for i in range(4)
        )
        self.norms = nn.ModuleList(FrozenBatchNorm2d(channels[i + 1]) for i in range(4))
        self.mean = nn.Linear(256, latent_dim)
        self.log_var = nn.Linear(256, latent_dim)

    def forward(self, images):
        x = images
        for conv, norm in zip(self.convs, self.norms):
            x = F.leaky_relu(norm(conv(x)), LEAKY_RELU_SLOPE)
        # Global average pooling: [N, 256, 2, 2] -> [N, 256].
        x = x.mean((2, 3))
        return self.mean(x), self.log_var(x)


class Shapes3dDecoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.dense = nn.Linear(latent_dim, 4 * 4 * 256)
        channels = [256, 128, 64, 32]
        self.convs = nn.ModuleList(
            nn.Conv2d(channels[i], channels[i + 1], 3, padding=1) for i in range(3)
        )
        self.norms = nn.ModuleList(FrozenBatchNorm2d(channels[i + 1]) for i in range(3))
        self.output = nn.Conv2d(32, 3, 3, padding=1)

    def forward(self, latents):
        x = reshape_channels_last(self.dense(latents), 256, 4, 4)
        for conv, norm in zip(self.convs, self.norms):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = F.leaky_relu(norm(conv(x)), LEAKY_RELU_SLOPE)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.sigmoid(self.output(x))


def make_networks(architecture, latent_dim=20):
    """Build the (encoder, decoder) pair of "mnist_small" or "shapes3d_large"."""
    if architecture == "mnist_small":
        return MnistEncoder(latent_dim), MnistDecoder(latent_dim)
    if architecture == "shapes3d_large":
        return Shapes3dEncoder(latent_dim), Shapes3dDecoder(latent_dim)
    raise ValueError(
        f"unknown architecture {architecture!r}; expected one of {sorted(IMAGE_SHAPES)}"
    )


def reconstruction_error(images, reconstructions, loss):
    """Return each image's error [N]: per-value error averaged over channels, summed over pixels.

    `loss` is "l1" (absolute error) or "bce" (binary cross-entropy with clamped predictions).
    """
    if loss == "l1":
        error = (images - reconstructions).abs()
    else:
        p = reconstructions.clamp(PROBABILITY_CLAMP, 1.0 - PROBABILITY_CLAMP)
        error = -(images * p.log() + (1.0 - images) * (1.0 - p).log())
    return error.mean(dim=1).sum((1, 2))


def vae_loss(images, reconstructions, mean, log_var, loss):
    """Return (total, reconstruction, kl), the batch means of the negative ELBO's terms."""
    reconstruction = reconstruction_error(images, reconstructions, loss)
    kl = -0.5 * (1.0 + log_var - mean.square() - log_var.exp()).sum(dim=1)
    return (reconstruction + kl).mean(), reconstruction.mean(), kl.mean()


class Trainer:
    """One VAE with its AMSGrad Adam optimiser and the buffers that each epoch reuses."""

    def __init__(self, architecture, loss, batch_size, learning_rate=1e-3, seed=0):
        torch.manual_seed(seed)
        self.encoder, self.decoder = make_networks(architecture)
        self.loss = loss
        self.batch_size = batch_size
        parameters = list(self.encoder.parameters()) + list(self.decoder.parameters())
        self.optimizer = torch.optim.Adam(
            parameters, lr=learning_rate, betas=ADAM_BETAS, eps=ADAM_EPSILON, amsgrad=True
        )
        self.generator = torch.Generator().manual_seed(seed)

    def train_epoch(self, images):
        """Run one shuffled pass over `images` [N, C, H, W]; return the mean batch loss."""
        count = images.shape[0]
        batch_size = min(self.batch_size, count)
        batch_buffer = torch.empty((batch_size,) + tuple(images.shape[1:]))
        noise_buffer = torch.empty(batch_size, self.encoder.mean.out_features)
        order = torch.randperm(count, generator=self.generator)
        self.encoder.train()
        self.decoder.train()

        total = 0.0
        batches = 0
        for first in range(0, count, batch_size):
            size = min(batch_size, count - first)
            batch = batch_buffer[:size]
            torch.index_select(images, 0, order[first : first + size], out=batch)
            noise = noise_buffer[:size].normal_(generator=self.generator)

            mean, log_var = self.encoder(batch)
            latents = mean + (0.5 * log_var).exp() * noise
            terms = vae_loss(batch, self.decoder(latents), mean, log_var, self.loss)

            self.optimizer.zero_grad()
            terms[0].backward()
            self.optimizer.step()

            # genmem reads all three terms every batch, for its divergence check and epoch report.
            total += terms[0].item()
            terms[1].item()
            terms[2].item()
            batches += 1
        return total / batches


def count_forward_flops(architecture, latent_dim=20):
    """Count the multiply-add FLOPs of one image's forward pass, layer by layer.

    Returns a list of (layer name, output shape, FLOPs) for every convolution, transposed
    convolution and dense layer, found by running one image through the networks. A multiply-add
    counts as 2 FLOPs. Bias additions, activations, batch normalisation, upsampling and the loss
    are not counted. A transposed convolution is counted over its full output, before the crop.
    """
    encoder, decoder = make_networks(architecture, latent_dim)
    layers = []

    def record(name):
        def hook(module, inputs, output):
            if isinstance(module, nn.Conv2d):
                kernel = module.kernel_size[0] * module.kernel_size[1]
                multiply_adds = output[0].numel() * module.in_channels * kernel
            elif isinstance(module, nn.ConvTranspose2d):
                # Every input value is multiplied into a k x k block of each output channel.
                kernel = module.kernel_size[0] * module.kernel_size[1]
                multiply_adds = inputs[0][0].numel() * module.out_channels * kernel
            else:
                multiply_adds = module.in_features * module.out_features
            layers.append((name, tuple(output.shape[1:]), 2 * multiply_adds))

        return hook

    for prefix, network in (("encoder", encoder), ("decoder", decoder)):
        for name, module in network.named_modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                module.register_forward_hook(record(f"{prefix}.{name}"))
    with torch.no_grad():
        mean, _ = encoder(torch.zeros((1,) + IMAGE_SHAPES[architecture]))
        decoder(mean)
    return layers


def fused_forward_flops(architecture, layers):
    """Count the FLOPs genmem executes with `fuse_layers = true`, from count_forward_flops' list.

    For shapes3d_large, every 3x3 decoder convolution follows a nearest-neighbour upsampling by 2,
    and genmem computes the pair as one 2x2 convolution with 4 times the output channels on the
    (H/2 + 1) x (W/2 + 1) padded input grid. Other layers execute the FLOPs counted above.
    """
    total = 0
    for name, shape, flops in layers:
        channels, height, width = (shape + (1, 1, 1))[:3]
        if architecture == "shapes3d_large" and name.startswith("decoder.") and len(shape) == 3:
            grid = (height // 2 + 1) * (width // 2 + 1)
            flops = flops * 4 * 4 * grid // (9 * height * width)
        total += flops
    return total
