# seeds/001, 四、PyTorch实战 "定义模型" … "保存和加载模型" (SimpleCNN on CIFAR-10)
# Given by the test: train_loader, test_loader (tiny synthetic 3x32x32 batches), num_epochs, save_path.
# CHANGED: the seed's "准备数据" block before this one (import torch, torchvision, transforms; CIFAR10 with
# download=True; DataLoaders with num_workers=2) is left out: torchvision is not installed here and nothing
# can be downloaded. `torch`, which that block imported, comes from the test, as do the loaders.
import torch.nn as nn
import torch.nn.functional as F

class SimpleCNN(nn.Module):
    def __init__(self):
        super(SimpleCNN, self).__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)  # 输入3通道(RGB), 输出32特征图, 3x3卷积核, padding=1保持尺寸
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)  # 2x2池化, 步长2 (尺寸减半)
        self.fc1 = nn.Linear(64 * 8 * 8, 512)  # CIFAR10经过两次池化: 32x32 -> 16x16 -> 8x8
        self.fc2 = nn.Linear(512, 10)  # 输出10类 (CIFAR10)
    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))  # Conv1 -> ReLU -> Pool
        x = self.pool(F.relu(self.conv2(x)))  # Conv2 -> ReLU -> Pool
        x = x.view(-1, 64 * 8 * 8)  # 展平: -1表示自动计算batch_size维度, 64*8*8=4096
        x = F.relu(self.fc1(x))      # FC1 -> ReLU
        x = self.fc2(x)              # FC2 (输出层)
        return x

model = SimpleCNN()
device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
model.to(device)  # 将模型移动到GPU (如果可用)

import torch.optim as optim
criterion = nn.CrossEntropyLoss()  # 多分类交叉熵损失
optimizer = optim.Adam(model.parameters(), lr=0.001)

# CHANGED: `num_epochs = 20` removed; the test passes num_epochs (1) so that it runs in a second.
for epoch in range(num_epochs):
    model.train()  # 设置为训练模式 (启用Dropout/BatchNorm训练行为)
    running_loss = 0.0
    correct = 0
    total = 0
    for i, (inputs, labels) in enumerate(train_loader, 0):
        inputs, labels = inputs.to(device), labels.to(device)  # 移动数据到设备
        # 梯度清零 (重要!)
        optimizer.zero_grad()
        # 前向传播
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        # 反向传播 + 参数更新
        loss.backward()
        optimizer.step()
        # 统计训练损失和准确率
        running_loss += loss.item()
        _, predicted = outputs.max(1)
        total += labels.size(0)
        correct += predicted.eq(labels).sum().item()
        # 定期打印训练状态
        if i % 100 == 99:  # 每100个batch打印一次
            print(f'Epoch [{epoch+1}/{num_epochs}], Step [{i+1}/{len(train_loader)}], '
                  f'Loss: {running_loss / 100:.4f}, Acc: {100. * correct / total:.2f}%')
            running_loss = 0.0
    # 可选: 每个epoch结束后在验证集/测试集上评估一次
    model.eval()  # 设置为评估模式 (关闭Dropout, 固定BatchNorm统计量)
    test_loss = 0
    test_correct = 0
    test_total = 0
    with torch.no_grad():  # 禁用梯度计算,节省内存和计算
        for inputs, labels in test_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            test_loss += loss.item()
            _, predicted = outputs.max(1)
            test_total += labels.size(0)
            test_correct += predicted.eq(labels).sum().item()
    print(f'Epoch [{epoch+1}/{num_epochs}] Test Loss: {test_loss / len(test_loader):.4f}, '
          f'Test Acc: {100. * test_correct / test_total:.2f}%')
print('Finished Training')

model.eval()  # 确保在评估模式
correct = 0
total = 0
with torch.no_grad():
    for (inputs, labels) in test_loader:
        inputs, labels = inputs.to(device), labels.to(device)
        outputs = model(inputs)
        _, predicted = torch.max(outputs.data, 1)  # 获取预测类别 (dim=1上最大值的索引)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
print(f'Final Test Accuracy: {100 * correct / total:.2f}%')

# 保存模型状态字典 (推荐)
# CHANGED: the file name 'cifar10_cnn_model.pth' becomes save_path (a pytest tmp_path), not the working directory.
torch.save(model.state_dict(), save_path)
# 加载模型 (需要先实例化相同结构的模型)
loaded_model = SimpleCNN()
loaded_model.load_state_dict(torch.load(save_path))
loaded_model.to(device)
loaded_model.eval()  # 加载后用于预测前务必设置为eval模式
